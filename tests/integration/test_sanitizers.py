"""The runner built with AddressSanitizer and UndefinedBehaviorSanitizer
(make asan) boots the Linux guest with virtio-blk, virtio-rnd, two virtio-net
(on a tap: pings; on slirp: pings and a TCP connection) and a PCI uart, does I/O, reboots and exits cleanly: any sanitizer report (memory
error, undefined behaviour, leak at exit) fails the test (issue 9)."""
import os
import re
import subprocess

import pytest

from bhyveguest import Guest, initrd  # noqa: F401 (fixture)
from guestlib import make_initramfs, repo_root

ASAN_BHYVE = os.path.join(repo_root(), "build/asan/bhyve")
REPORT = re.compile(r"ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer")
VIRTIO = ["virtio_blk", "virtio-rng", "virtio_pci", "virtio_net"]


@pytest.fixture(scope="module")
def virtio_initrd(tmp_path_factory):
    d = tmp_path_factory.mktemp("asan-initrd")
    init = open(os.path.join(repo_root(), "tests/guests/linux/test-init")).read()
    return str(make_initramfs(d, init, modules=VIRTIO))


# A tap of its own (test_net.py and test_e1000.py use other names and nets),
# and a second virtio-net on slirp with a hostfwd rule.
TAP, HOST_IP, GUEST_IP = "tapsan0", "192.168.79.1", "192.168.79.2"


@pytest.fixture
def tap():
    def ip(*a):
        subprocess.run(["ip", *a], check=True, capture_output=True)
    subprocess.run(["ip", "link", "del", TAP], capture_output=True)
    try:
        ip("tuntap", "add", "dev", TAP, "mode", "tap")
        ip("addr", "add", HOST_IP + "/24", "dev", TAP)
        ip("link", "set", TAP, "up")
    except subprocess.CalledProcessError as e:
        pytest.fail("cannot make a tap (run under scripts/kvm-run): %s" % e.stderr,
                    pytrace=False)
    yield TAP
    subprocess.run(["ip", "link", "del", TAP], capture_output=True)


def test_linux_guest_under_asan_and_ubsan(virtio_initrd, tmp_path, tap):
    assert os.access(ASAN_BHYVE, os.X_OK), "make asan first"
    image = tmp_path / "disk.img"
    image.write_bytes(b"\0" * (8 << 20))
    env = dict(os.environ,
               ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=99",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=98")
    g = Guest(virtio_initrd, binary=ASAN_BHYVE, env=env, cpus="2", args=[
        "-H", "-s", "4,virtio-blk,%s" % image, "-s", "5,virtio-rnd",
        "-s", "6,uart,%s" % (tmp_path / "uart.log"), "-s", "7,virtio-net,%s" % TAP,
        "-s", "8,virtio-net,slirp,hostfwd=tcp:127.0.0.1:18080-:80"],
              cmdline="8250.nr_uarts=8")
    try:
        out = g.sh("dd if=/dev/urandom of=/dev/vda bs=64k count=16 2>&1; sync; "
                   "dd if=/dev/vda of=/dev/null bs=64k count=16 2>&1; "
                   "head -c 32 /dev/hwrng | wc -c", timeout=120)
        assert out.splitlines()[-1].strip() == "32", out
        # virtio-net on a tap: frames both ways.
        out = g.sh("ip addr add %s/24 dev eth0 && ip link set eth0 up && "
                   "ping -c 3 -W 5 %s 2>&1" % (GUEST_IP, HOST_IP), timeout=120)
        assert " 0% packet loss" in out or "3 packets received" in out, out
        # virtio-net on slirp: the gateway answers, a TCP connection is made.
        out = g.sh("ip link set eth1 up && ip addr add 10.0.2.15/24 dev eth1 && "
                   "ping -c 2 -W 5 10.0.2.2 2>&1; echo hi | nc -w 3 10.0.2.2 9 2>&1; true",
                   timeout=120)
        assert "2 packets received" in out, out
        g.p.sendline("reboot -f")
        status = g.wait_exit(timeout=120)
        log = g.p.before or ""
    finally:
        g.kill()
    assert not REPORT.search(log), log
    assert status == 0, log
