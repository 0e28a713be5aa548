"""The runner boots the Debian kernel to a shell on real KVM (issue 3): the
console, vCPUs and topology, memory, x2APIC, the RTC, pinning, thread names
and the exit statuses of reboot and triple fault."""
import calendar
import os
import re
import socket
import subprocess
import time
import uuid

import pytest

from guestlib import assets, bhyve_path, cpus_allowed, repo_root, threads_by_name

from bhyveguest import Guest, initrd  # noqa: F401 (fixtures)


# Each Linux boot costs seconds in the test bed (a minute on slow CI
# machines), so two guests carry every check: a default one and a large
# one (4 vCPUs in 2 sockets, 4 GiB, x2APIC, pinned).

@pytest.fixture(scope="module")
def small(initrd):
    # The bzImage (the other guests boot the uncompressed vmlinux).
    g = Guest(initrd, args=["-u"], kernel=assets().vmlinuz)
    yield g
    g.kill()


# vCPU 0 of the big guest is pinned to the last host CPU (-p 0:N).
PIN_CPU = os.cpu_count() - 1


@pytest.fixture(scope="module")
def big(initrd):
    # -H: four vCPUs share the test bed's one or two CPUs, so idle ones must
    # yield.
    g = Guest(initrd, cpus="cpus=4,sockets=2,cores=2", mem="4G",
              args=["-H", "-x", "-p", "0:%d" % PIN_CPU])
    yield g
    g.kill()


def test_console_and_cmdline(small):
    assert small.sh("echo $((6 * 7))") == "42"
    assert "ttyS0" in small.sh("cat /proc/cmdline")


def test_no_x2apic_without_x(small):
    assert "x2apic" not in small.sh("grep -m1 ^flags /proc/cpuinfo").split()


def test_rtc_reads_host_time(small):
    out = small.sh("cat /sys/class/rtc/rtc0/since_epoch")
    assert abs(int(out) - time.time()) <= 2
    out = small.sh("hwclock -u -r")
    m = re.search(r"(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})", out)
    assert m, out
    t = calendar.timegm(time.strptime(m.group(1), "%a %b %d %H:%M:%S %Y"))
    assert abs(t - time.time()) <= 2, out


def default_uuid(vmname):
    """The UUID the runner derives without -U: a name-based (version 5)
    UUID of the host name and the VM name in the project's name space
    (src/firmware/smbios.c), so stable per host and VM, different per VM."""
    ns = uuid.UUID("d1237d6d-da0f-467b-a42d-867304f9d5e0")
    return str(uuid.uuid5(ns, socket.gethostname() + "\0" + vmname))


def test_default_uuid_is_stable(small):
    got = small.sh("cat /sys/class/dmi/id/product_uuid")
    assert got == default_uuid("testvm")
    assert default_uuid("testvm") != default_uuid("other")


def test_reboot_exits_0(small):
    small.p.sendline("reboot -f")
    assert small.wait_exit() == 0


def test_four_cpus_and_topology(big):
    assert big.sh("grep -c ^processor /proc/cpuinfo") == "4"
    # Two packages of two cores each, in CPUID and in sysfs.
    assert big.sh("grep '^physical id' /proc/cpuinfo | sort -u | wc -l") == "2"
    assert big.sh("grep -m1 '^cpu cores' /proc/cpuinfo | sed 's/.*: //'") == "2"
    pkgs = big.sh("cat /sys/devices/system/cpu/cpu*/topology/physical_package_id | sort -u")
    assert pkgs.split() == ["0", "1"]
    assert big.sh("cat /sys/devices/system/cpu/cpu0/topology/core_cpus_list") == "0"
    assert big.sh("cat /sys/devices/system/cpu/cpu0/topology/package_cpus_list") == "0-1"


def test_memory_size_and_above_4g(big):
    kb = int(big.sh("sed -n 's/^MemTotal: *\\([0-9]*\\) kB/\\1/p' /proc/meminfo"))
    # MemTotal is RAM minus what the kernel keeps: at most 4 GiB, and most of it.
    assert 3800 * 1024 < kb <= 4096 * 1024
    # The e820 map the kernel used: the memory map of SPEC §2, RAM below
    # the PCI hole and the rest from 4 GiB.
    ram = big.sh("cat /sys/firmware/memmap/*/type | grep -c 'System RAM'")
    assert int(ram) >= 2
    assert "0x100000000" in big.sh("cat /sys/firmware/memmap/*/start")


def test_x2apic_with_x(big):
    assert "x2apic" in big.sh("grep -m1 ^flags /proc/cpuinfo").split()


def test_pinning_and_thread_names(big):
    pid = big.p.pid
    names = threads_by_name(pid)
    assert all("vcpu %d" % i in names for i in range(4)), names
    assert cpus_allowed(pid, names["vcpu 0"]) == str(PIN_CPU)
    with open("/proc/%d/comm" % pid) as f:
        assert f.read().strip().startswith("bhyve: testvm"[:15])


def test_halt_exits_2(big):
    big.p.sendline("halt -f")
    assert big.wait_exit() == 2


def test_triple_fault_exits_3():
    guest_bin = os.path.join(repo_root(), "build/guests/triple.bin")
    p = subprocess.run([bhyve_path(), "-s", "31,lpc", "-l", "com1,stdio",
                        "--kernel", guest_bin, "tf"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert b"triple" in p.stdout
    assert p.returncode == 3, p.stderr


def test_keyboard_controller_reset_exits_0():
    guest_bin = os.path.join(repo_root(), "build/guests/hello.bin")
    p = subprocess.run([bhyve_path(), "-s", "31,lpc", "-l", "com1,stdio",
                        "--kernel", guest_bin, "hello"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert b"hello from guest" in p.stdout
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("extra", [[], ["-H"], ["-c", "2"]])
def test_cli_hlt_on_every_vcpu_exits_2(extra):
    guest_bin = os.path.join(repo_root(), "build/guests/halt.bin")
    p = subprocess.run([bhyve_path(), *extra, "-s", "31,lpc", "-l", "com1,stdio",
                        "--kernel", guest_bin, "halt"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert b"halting" in p.stdout
    assert p.returncode == 2, p.stderr
