"""No file descriptor, thread or memory leak across many runs (issue 9): 50
sequential boot/power-off cycles of a small guest, each a new runner
process, leave the host's open files and memory where they were."""
import os
import subprocess
import time

from guestlib import bhyve_path, repo_root

CYCLES = 50


def host_open_files():
    with open("/proc/sys/fs/file-nr") as f:
        return int(f.read().split()[0])


def mem_available_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    raise AssertionError("no MemAvailable")


def one_cycle(guest_bin):
    p = subprocess.run([bhyve_path(), "-m", "64M", "-s", "0,hostbridge", "-s", "31,lpc",
                        "-l", "com1,stdio", "-s", "3,virtio-rnd",
                        "--kernel", guest_bin, "cycle"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert p.returncode == 1, p.stderr
    assert b"poweroff" in p.stdout


def test_fifty_boot_poweroff_cycles_leak_nothing():
    guest_bin = os.path.join(repo_root(), "build/guests/poweroff.bin")
    one_cycle(guest_bin)  # warm caches before measuring
    files0, mem0 = host_open_files(), mem_available_kib()
    for _ in range(CYCLES):
        one_cycle(guest_bin)
    files1, mem1 = host_open_files(), mem_available_kib()
    # file-nr is a per-CPU batched counter (steps of 32 are noise): a leak of
    # even two handles per cycle would exceed this.
    assert files1 - files0 <= 64, (files0, files1)
    # Memory: no steady loss; allow page-cache noise of a few MiB.
    assert mem0 - mem1 < 16 * 1024, (mem0, mem1)


def test_no_thread_or_fd_growth_in_a_running_runner():
    """The runner's own fds and threads stay flat while a guest runs (the
    halt detector and event loop run many rounds meanwhile)."""
    # The gdbtarget guest spins until a debugger says go: a guest that runs.
    guest_bin = os.path.join(repo_root(), "build/guests/gdbtarget.bin")
    p = subprocess.Popen([bhyve_path(), "-s", "31,lpc", "-l", "com1,stdio",
                          "--kernel", guest_bin, "spin"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        fds0 = len(os.listdir("/proc/%d/fd" % p.pid))
        thr0 = len(os.listdir("/proc/%d/task" % p.pid))
        time.sleep(3)
        fds1 = len(os.listdir("/proc/%d/fd" % p.pid))
        thr1 = len(os.listdir("/proc/%d/task" % p.pid))
        assert (fds0, thr0) == (fds1, thr1)
    finally:
        p.kill()
        p.wait()
