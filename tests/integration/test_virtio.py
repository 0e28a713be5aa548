"""virtio devices (issue 5) seen from a Linux guest: virtio-blk, virtio-rnd
and virtio-console over the PCI transport, modern and legacy interfaces;
host-written data, read-only disks, 4 KiB sectors and a full host disk.

A Linux boot costs seconds in the test bed (about a minute on slow CI
machines), so two guests carry all the checks: a modern one with every
device and disk kind, and a legacy one (force_legacy, -W)."""
import contextlib
import hashlib
import io
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

import bhyveguest
from bhyveguest import Guest
from guestlib import assets, bhyve_path, make_initramfs, repo_root

VIRTIO_MODULES = ["virtio", "virtio_ring", "virtio_pci_modern_dev", "virtio_pci_legacy_dev",
                  "virtio_pci", "virtio_blk", "virtio-rng", "virtio_console"]
MIB = 1 << 20

# Disk sizes tell the guest's disks apart (/sys/block/vdX/size).
RW_SIZE, RO_SIZE, SS_SIZE, FULL_SIZE, LEGACY_SIZE = 64 * MIB, 8 * MIB, 12 * MIB, 32 * MIB, 16 * MIB
HOST_DATA_AT = 5 * MIB


def _initrd(tmp_path_factory, legacy):
    d = tmp_path_factory.mktemp("vinitrd")
    init = open(os.path.join(repo_root(), "tests/guests/linux/test-init")).read()
    if legacy:
        init = init.replace('insmod /lib/modules/$m 2>/dev/null',
                            'case $m in virtio_pci.ko) insmod /lib/modules/$m force_legacy=1;; '
                            '*) insmod /lib/modules/$m 2>/dev/null;; esac')
        assert "force_legacy" in init
    name = "legacy.cpio.gz" if legacy else "virtio.cpio.gz"
    return str(make_initramfs(d, init, modules=VIRTIO_MODULES, name=name))


@pytest.fixture(scope="module")
def vinitrd(tmp_path_factory):
    return _initrd(tmp_path_factory, False)


@pytest.fixture(scope="module")
def legacy_initrd(tmp_path_factory):
    """The same guest, but virtio_pci loaded with force_legacy=1."""
    return _initrd(tmp_path_factory, True)


def pattern(n, seed=b"blk"):
    """Deterministic, non-repeating-looking bytes."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(b"%s%d" % (seed, i)).digest()
        i += 1
    return bytes(out[:n])


def make_image(path, size):
    with open(path, "wb") as f:
        f.truncate(size)
        f.seek(0)
        f.write(pattern(4096))
    return path


@contextlib.contextmanager
def small_tmpfs(where):
    """A 4 MiB tmpfs: an image there runs out of host space."""
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture(scope="module")
def sockdir():
    # Short: sun_path holds 107 bytes, pytest's tmp_path may be longer.
    d = tempfile.mkdtemp(prefix="vcon", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def spawn_logged(log):
    """pexpect.spawn that also copies everything the runner prints to log."""
    real = bhyveguest.pexpect.spawn

    def spawn(*a, **kw):
        p = real(*a, **kw)
        p.logfile_read = log
        return p
    return spawn


@pytest.fixture(scope="module")
def modern(vinitrd, tmp_path_factory, sockdir):
    d = tmp_path_factory.mktemp("modern")
    rw = d / "rw.img"
    make_image(rw, RW_SIZE)
    with open(rw, "r+b") as f:
        f.seek(HOST_DATA_AT)
        f.write(pattern(256 * 1024, b"host"))
    ro = make_image(d / "ro.img", RO_SIZE)
    ss = make_image(d / "ss.img", SS_SIZE)
    a = os.path.join(sockdir, "a.sock")
    b = os.path.join(sockdir, "b.sock")
    # A stale socket file left by an earlier run is replaced.
    st = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    st.bind(b)
    st.close()
    args = ["-s", "4,virtio-blk,%s" % rw, "-s", "5,virtio-rnd",
            "-s", "6,virtio-console,alpha=%s,beta=%s" % (a, b),
            "-s", "7,virtio-blk,%s,ro" % ro, "-s", "8,virtio-blk,%s,sectorsize=4096,aio=io_uring" % ss]
    with contextlib.ExitStack() as stack:
        full = None
        if os.geteuid() == 0:
            small = stack.enter_context(small_tmpfs(d / "small"))
            full = small / "full.img"
            with open(full, "wb") as f:
                f.truncate(FULL_SIZE)  # sparse: the host has room for only 4 MiB of it
            args += ["-s", "9,virtio-blk,%s" % full]
        log = io.StringIO()
        env = dict(os.environ, BHYVE_DEBUG="1")
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(bhyveguest.pexpect, "spawn", spawn_logged(log))
            g = Guest(vinitrd, args=args, env=env)
        g.log, g.images, g.socks = log, {"rw": rw, "ro": ro, "ss": ss, "full": full}, (a, b)
        yield g
        g.kill()


@pytest.fixture(scope="module")
def legacy(legacy_initrd, tmp_path_factory, sockdir):
    d = tmp_path_factory.mktemp("legacy")
    img = make_image(d / "legacy.img", LEGACY_SIZE)
    sock = os.path.join(sockdir, "l.sock")
    # -W: single MSI, which Linux's virtio driver does not use, so INTx and
    # the ISR register.
    g = Guest(legacy_initrd, args=["-W", "-s", "4,virtio-blk,%s" % img, "-s", "5,virtio-rnd",
                                   "-s", "6,virtio-console,port.leg.path=%s" % sock])
    g.image, g.sock = img, sock
    yield g
    g.kill()


def disk(g, size):
    """The guest's vdX of the given size in bytes."""
    out = g.sh("for d in /sys/block/vd*; do echo $(basename $d) $(cat $d/size); done")
    for line in out.splitlines():
        name, sectors = line.split()
        if int(sectors) * 512 == size:
            return name
    raise AssertionError("no disk of %d bytes: %s" % (size, out))


def check_rnd(g):
    assert g.sh("cat /sys/class/misc/hw_random/rng_current").startswith("virtio_rng")
    out = g.sh("head -c 64 /dev/hwrng | od -An -tx1 | tr -d ' \\n'")
    assert re.fullmatch(r"[0-9a-f]{128}", out), out
    assert out != "0" * 128


def write_read_back(g, vd, img):
    """A pattern written in the guest reads back from the device and, after
    sync, is in the host file."""
    g.sh("head -c %d /dev/zero | tr '\\0' 'Z' > /tmp/z" % MIB)
    g.sh("dd if=/tmp/z of=/dev/%s bs=64k seek=16 conv=fsync 2>/dev/null" % vd)
    g.sh("sync")
    # iflag=direct: read from the device, not the guest's page cache.
    got = g.sh("dd if=/dev/%s bs=64k skip=16 count=16 iflag=direct 2>/dev/null | sha256sum" % vd)
    want = hashlib.sha256(b"Z" * MIB).hexdigest()
    assert got.split()[0] == want
    with open(img, "rb") as f:
        f.seek(MIB)
        assert hashlib.sha256(f.read(MIB)).hexdigest() == want


def port_dev(g, name):
    """/dev node of the port called name, found through sysfs."""
    out = g.sh('for d in /sys/class/virtio-ports/*; do '
               '[ "$(cat $d/name 2>/dev/null)" = "%s" ] && basename $d; done' % name)
    assert out.startswith("vport"), out
    return "/dev/" + out.strip()


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(30)
    return s


def recv_until(s, want):
    got = b""
    while want not in got:
        b = s.recv(4096)
        assert b, "connection closed after %r" % got
        got += b
    return got


def round_trip(g, sock_path, name):
    dev = port_dev(g, name)
    c = connect(sock_path)
    # The guest's write blocks until the device says the host side is open.
    g.sh("echo hello > %s" % dev)
    assert recv_until(c, b"hello\n") == b"hello\n"
    # Data for a port the guest has not opened is discarded by the driver:
    # open it first, then send.
    g.sh("rm -f /tmp/got; (head -n1 %s > /tmp/got &)" % dev)
    time.sleep(1)
    c.sendall(b"ping from host\n")
    for _ in range(60):
        if g.sh("cat /tmp/got 2>/dev/null") == "ping from host":
            break
        time.sleep(0.5)
    assert g.sh("cat /tmp/got") == "ping from host"
    return c


# ---- the modern guest ----

def test_virtio_rnd(modern):
    check_rnd(modern)
    vendor = modern.sh("cat /sys/bus/pci/devices/0000:00:05.0/vendor")
    device = modern.sh("cat /sys/bus/pci/devices/0000:00:05.0/device")
    assert (vendor, device) == ("0x1af4", "0x1005")
    # MSI-X in use: one vector per queue plus the configuration vector.
    assert "virtio" in modern.sh("cat /proc/interrupts")


def test_eventfds(modern):
    """With KVM's ioeventfd/irqfd, queue notifications and MSI-X vectors
    bypass the vCPU thread (the runner says so with BHYVE_DEBUG)."""
    m = re.search(r"virtio-console\S*: (\d+) queue\(s\) notify by ioeventfd, "
                  r"(\d+) MSI-X vector\(s\) by irqfd", modern.log.getvalue())
    assert m, modern.log.getvalue()[-2000:]
    # Two ports: 2 * (2 + 1) queues, all set up by Linux, plus the
    # configuration vector.
    assert int(m.group(1)) == 6 and int(m.group(2)) == 7, m.group(0)
    m = re.search(r"virtio-blk\S*: (\d+) queue\(s\) notify by ioeventfd", modern.log.getvalue())
    assert m and int(m.group(1)) >= 1


def test_console_two_named_ports(modern):
    g = modern
    a, b = g.socks
    assert g.sh("cat /sys/bus/pci/devices/0000:00:06.0/device") == "0x1003"
    names = g.sh("cat /sys/class/virtio-ports/*/name").split()
    assert sorted(names) == ["alpha", "beta"]
    c = round_trip(g, b, "beta")
    # One client at a time: a second one is accepted and closed at once.
    c2 = connect(b)
    assert c2.recv(16) == b""
    c2.close()
    c.close()
    # After the first client leaves, a new one is served.
    time.sleep(0.5)
    round_trip(g, b, "beta").close()
    round_trip(g, a, "alpha").close()


def test_virtio_blk_rw(modern):
    g = modern
    vd = disk(g, RW_SIZE)
    write_read_back(g, vd, g.images["rw"])
    # A serial from GET_ID.
    serial = g.sh("cat /sys/block/%s/serial" % vd)
    assert len(serial) == 20 and serial.startswith("BHYVE-"), serial
    assert g.sh("cat /sys/block/%s/ro" % vd) == "0"
    # Discard punches a hole in the image.
    g.sh("blkdiscard -o %d -l %d /dev/%s 2>&1" % (MIB, MIB, vd))
    g.sh("sync")
    with open(g.images["rw"], "rb") as f:
        f.seek(MIB)
        assert f.read(MIB) == bytes(MIB)


def test_guest_reads_what_the_host_wrote(modern):
    g = modern
    vd = disk(g, RW_SIZE)
    got = g.sh("dd if=/dev/%s bs=4096 count=1 iflag=direct 2>/dev/null | sha256sum" % vd)
    assert got.split()[0] == hashlib.sha256(pattern(4096)).hexdigest()
    out = g.sh("dd if=/dev/%s bs=64k skip=%d count=4 iflag=direct 2>/dev/null | sha256sum"
               % (vd, HOST_DATA_AT // 65536))
    assert out.split()[0] == hashlib.sha256(pattern(256 * 1024, b"host")).hexdigest()


def test_virtio_blk_sectorsize_on_io_uring(modern):
    vd = disk(modern, SS_SIZE)
    assert modern.sh("cat /sys/block/%s/queue/logical_block_size" % vd) == "4096"
    # This disk's back end is io_uring (aio=io_uring): the same data path.
    write_read_back(modern, vd, modern.images["ss"])


def test_virtio_blk_ro(modern):
    g = modern
    vd = disk(g, RO_SIZE)
    img = g.images["ro"]
    before = hashlib.sha256(img.read_bytes()).hexdigest()
    assert g.sh("cat /sys/block/%s/ro" % vd) == "1"
    out = g.sh("dd if=/dev/zero of=/dev/%s bs=4096 count=1 conv=fsync 2>&1; echo rc=$?" % vd)
    assert "rc=0" not in out, out
    got = g.sh("dd if=/dev/%s bs=4096 count=1 2>/dev/null | sha256sum" % vd)
    assert got.split()[0] == hashlib.sha256(pattern(4096)).hexdigest()
    assert hashlib.sha256(img.read_bytes()).hexdigest() == before


def test_host_disk_full_gives_guest_io_errors(modern):
    g = modern
    if g.images["full"] is None:
        pytest.skip("mounting a small tmpfs needs root")
    vd = disk(g, FULL_SIZE)
    out = g.sh("dd if=/dev/zero of=/dev/%s bs=1M count=16 oflag=direct 2>&1; echo rc=$?" % vd,
               timeout=120)
    assert "rc=0" not in out, out
    assert "error" in out.lower(), out
    # The runner is still there and the guest still works.
    assert g.sh("echo alive") == "alive"


def test_modern_guest_reboots(modern):
    # Last for this guest.
    modern.p.sendline("reboot -f")
    assert modern.wait_exit(timeout=60) == 0


# ---- the legacy guest ----

def test_legacy_rnd_blk_console(legacy):
    g = legacy
    check_rnd(g)
    vd = disk(g, LEGACY_SIZE)
    write_read_back(g, vd, g.image)
    assert g.sh("cat /sys/class/virtio-ports/*/name") == "leg"
    round_trip(g, g.sock, "leg").close()
    # No MSI-X: the devices interrupt through INTx (IO-APIC lines).
    ints = g.sh("grep virtio /proc/interrupts")
    assert "IO-APIC" in ints, ints
    g.p.sendline("poweroff -f")
    assert g.wait_exit(timeout=60) == 1


# ---- no guest ----

def test_console_bad_config(sockdir):
    p = subprocess.run([bhyve_path(), "-s", "0,hostbridge",
                        "-s", "6,virtio-console,x=%s/%s" % (sockdir, "y" * 120),
                        "--kernel", str(assets().vmlinuz), "vm"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert "too long" in p.stderr
