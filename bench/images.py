"""The benchmark guests, built on the host before the test bed starts (the
bed sees the assets cache read-only, and building there is slow).

  boot.cpio.gz   busybox, bench/guest/init and the virtio modules: the boot,
                 SMP and memory figures
  work.cpio.gz   the same plus the host's own fio and iperf3 with every
                 shared library they load (ldd): the disk and network figures
                 (36 MiB; 85 MiB unpacked.  Uncompressed, it boots faster on
                 this runner but far slower on QEMU, whose firmware reads the
                 initrd over fw_cfg)
  exitcost.elf   build/guests/mbc/exitcost.elf with its empty PT_LOAD (the
                 AP trampoline segment of mb.ld, address 0, size 0) turned
                 into PT_NULL: QEMU's Multiboot loader counts that segment in
                 the image's extent and would load the image at address 0

Each is rebuilt only when its inputs change (a hash of them is kept in a
.key file beside it).
"""
import gzip
import hashlib
import os
import pathlib
import shutil
import struct
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

import guestlib  # noqa: E402

OUT = ROOT / "build" / "bench"
INIT = ROOT / "bench" / "guest" / "init"
EXITCOST = ROOT / "build" / "guests" / "mbc" / "exitcost.elf"

# Both transports: virtio-mmio (QEMU microvm) and virtio-pci (the others).
MODULES = ("virtio", "virtio_ring", "virtio_mmio", "virtio_pci_modern_dev",
           "virtio_pci_legacy_dev", "virtio_pci", "virtio_blk", "virtio_net")
PROGRAMS = ("/usr/bin/fio", "/usr/bin/iperf3")

PT_NULL, PT_LOAD = 0, 1


def shared_libraries(programs):
    """Every file the dynamic loader maps for programs: (path, real path)."""
    libs = {}
    for prog in programs:
        out = subprocess.run(["ldd", prog], check=True, capture_output=True, text=True,
                             timeout=60).stdout
        for line in out.splitlines():
            words = line.split()
            path = None
            if "=>" in words:
                i = words.index("=>")
                if i + 1 < len(words) and words[i + 1].startswith("/"):
                    path = words[i + 1]
            elif words and words[0].startswith("/"):
                path = words[0]  # the loader itself
            if path:
                libs[path] = os.path.realpath(path)
    return sorted(libs.items())


def _key(parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(str(p).encode() + b"\0")
        if os.path.isfile(p):
            st = os.stat(p)
            h.update(b"%d %d\0" % (st.st_size, st.st_mtime_ns))
    return h.hexdigest()


def _fresh(out, key):
    k = out.with_suffix(out.suffix + ".key")
    return out.exists() and k.exists() and k.read_text() == key


def _mark(out, key):
    out.with_suffix(out.suffix + ".key").write_text(key)


def initramfs(name, files, compressed=True):
    """build/bench/NAME from INIT, MODULES and files ({guest path: host path});
    compressed=False: the cpio archive without gzip (Linux takes both)."""
    a = guestlib.assets()
    out = OUT / name
    inputs = [INIT, a.vmlinuz, ROOT / "scripts" / "mkinitramfs", compressed, *MODULES]
    for dst, src in sorted(files.items()):
        inputs += [dst, src]
    key = _key(inputs)
    if _fresh(out, key):
        return out
    work = OUT / (name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    path = guestlib.make_initramfs(work, INIT.read_text(), modules=MODULES, files=files,
                                   name=name + ".gz", timeout=600)
    if compressed:
        os.replace(path, out)
    else:
        with gzip.open(path, "rb") as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    shutil.rmtree(work, ignore_errors=True)
    _mark(out, key)
    return out


def multiboot_without_empty_segments(src, dst):
    """Copy an ELF32 image, turning PT_LOAD entries of size 0 into PT_NULL."""
    b = bytearray(pathlib.Path(src).read_bytes())
    if b[:4] != b"\x7fELF" or b[4] != 1:
        raise ValueError("%s: not an ELF32 file" % src)
    phoff = struct.unpack_from("<I", b, 28)[0]
    phentsize, phnum = struct.unpack_from("<HH", b, 42)
    for i in range(phnum):
        o = phoff + i * phentsize
        p_type = struct.unpack_from("<I", b, o)[0]
        memsz = struct.unpack_from("<I", b, o + 20)[0]
        if p_type == PT_LOAD and memsz == 0:
            struct.pack_into("<I", b, o, PT_NULL)
    pathlib.Path(dst).write_bytes(b)


def prepare(work=True):
    """Build what the measurements need; a dict of paths (str)."""
    OUT.mkdir(parents=True, exist_ok=True)
    a = guestlib.assets()
    paths = {"kernel": str(a.vmlinuz), "boot_initrd": str(initramfs("boot.cpio.gz", {}))}
    if work:
        files = {p: p for p in PROGRAMS}
        for path, real in shared_libraries(PROGRAMS):
            files[path] = real
        paths["work_initrd"] = str(initramfs("work.cpio.gz", files))
    if not EXITCOST.exists():
        raise FileNotFoundError("%s is missing: run `make guests`" % EXITCOST)
    dst = OUT / "exitcost.elf"
    multiboot_without_empty_segments(EXITCOST, dst)
    paths["exitcost"] = str(dst)
    return paths


if __name__ == "__main__":
    for k, v in prepare().items():
        print("%s %s (%d KiB)" % (k, v, os.path.getsize(v) >> 10))
