"""Helpers for the integration tests: paths, guest assets and initramfs images.

The assets (Debian's kernel, its modules and a static busybox) come from
scripts/assets, which `make integration` runs first; these helpers never
download anything, as the test bed sees the cache read-only.
"""

import dataclasses
import fcntl
import os
import pathlib
import subprocess

# Loads every module of an initramfs made by make_initramfs, dependencies
# first (the same as its /bin/load-modules).
LOAD_MODULES = 'for m in $(cat /lib/modules/load-order); do insmod "/lib/modules/$m"; done'

# A start for init scripts: the usual mounts, then the modules.
INIT_PREAMBLE = """#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
""" + LOAD_MODULES + "\n"

_KVM_CREATE_VM = 0xAE01  # _IO(KVMIO, 0x01), KVM API documentation 4.2


@dataclasses.dataclass(frozen=True)
class Assets:
    """Where scripts/assets put things (see that script for the layout).

    Fields read as attributes or as items: a.vmlinuz or a["vmlinuz"].
    """

    dir: pathlib.Path
    vmlinuz: pathlib.Path
    busybox: pathlib.Path
    modules: pathlib.Path
    kernel_version: str
    vmlinux: pathlib.Path  # the uncompressed ELF kernel inside vmlinuz

    def __getitem__(self, key):
        if key not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, key)


def repo_root():
    """The top of the work tree."""
    return pathlib.Path(__file__).resolve().parents[2]


def bhyve_path():
    """The bhyve binary that `make` builds, as a str (pexpect wants one)."""
    return str(repo_root() / "build" / "bhyve")


def scripts_dir():
    return repo_root() / "scripts"


def assets():
    """The cached guest assets; FileNotFoundError when scripts/assets has not run."""
    out = subprocess.run([str(scripts_dir() / "assets"), "--print-dir"],
                         check=True, capture_output=True, text=True, timeout=30)
    d = pathlib.Path(out.stdout.strip())
    a = Assets(dir=d,
               vmlinuz=d / "kernel" / "vmlinuz",
               busybox=d / "busybox",
               modules=d / "kernel" / "modules",
               kernel_version=_read(d / "kernel" / "version"),
               vmlinux=d / "kernel" / "vmlinux")
    for p in (a.vmlinuz, a.vmlinux, a.busybox, a.modules / "modules.dep"):
        if not p.exists():
            raise FileNotFoundError(f"{p} is missing: run `make assets`")
    return a


def _read(path):
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


def make_initramfs(tmp_path, init_script_text, modules=(), files=None,
                   name="initramfs.cpio.gz", timeout=60):
    """Build an initramfs with scripts/mkinitramfs and return its path.

    init_script_text becomes /init (start it with INIT_PREAMBLE to get the
    usual mounts and the modules loaded).  modules are names of the cached
    kernel's modules; their dependencies come along.  files maps a path in
    the image to either a host file or directory to copy (str or PathLike)
    or the file's contents (bytes; mode 0755 when it starts with "#!").
    """
    tmp_path = pathlib.Path(tmp_path)
    work = tmp_path / (name + ".d")
    work.mkdir(parents=True, exist_ok=True)
    init = work / "init"
    init.write_text(init_script_text)
    cmd = [str(scripts_dir() / "mkinitramfs"), "-o", str(tmp_path / name),
           "--init", str(init)]
    for m in modules:
        cmd += ["--module", m]
    for i, (dst, src) in enumerate((files or {}).items()):
        if isinstance(src, (bytes, bytearray)):
            f = work / f"file{i}"
            f.write_bytes(src)
            f.chmod(0o755 if src.startswith(b"#!") else 0o644)
            src = f
        cmd += ["--file", f"{os.fspath(src)}:{dst}"]
    subprocess.run(cmd, check=True, timeout=timeout)
    return tmp_path / name


def inside_bed():
    """True inside the QEMU test bed of scripts/kvm-run."""
    return os.environ.get("KVM_RUN_INSIDE") == "1"


def kvm_usable():
    """True when /dev/kvm opens and KVM_CREATE_VM succeeds."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        os.close(fcntl.ioctl(fd, _KVM_CREATE_VM, 0))
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def threads_by_name(pid):
    """{thread name (/proc comm): thread id} of process pid."""
    names = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            names[f.read().strip()] = tid
    return names


def cpus_allowed(pid, tid):
    """The host CPUs thread tid of pid may run on, as /proc lists them ("1", "0-1")."""
    with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
        for line in f:
            if line.startswith("Cpus_allowed_list:"):
                return line.split(":", 1)[1].strip()
    return None

