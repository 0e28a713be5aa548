"""The runner confines itself once started (issue 9, src/sandbox.c): every
thread of a running VM has its seccomp filter (Seccomp: 2), no_new_privs and
no capabilities left; --no-seccomp and -o seccomp=false leave the filters
off; guests end exactly as they do without the filters.

Only the Multiboot test guests of tests/guests/mb run here (no Linux boot).
That a forbidden system call ends the process with status 4 and a message
is shown by tests/unit/test_sandbox.c: the runner has no hook to make one."""
import os
import select
import socket
import subprocess
import time

import pytest

from guestlib import bhyve_path, repo_root

TIMEOUT = 60
CAP_SETPCAP = 8


def guest_path(name):
    path = os.path.join(repo_root(), "build/guests/mb/%s.elf" % name)
    if not os.path.exists(path):
        pytest.fail("%s is missing: run `make guests`" % path, pytrace=False)
    return path


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def readline(stream, timeout):
    end = time.monotonic() + timeout
    buf = b""
    while not buf.endswith(b"\n") and time.monotonic() < end:
        r, _, _ = select.select([stream], [], [], max(0.0, end - time.monotonic()))
        if not r:
            break
        c = os.read(stream.fileno(), 1)
        if not c:
            break
        buf += c
    return buf


def status(path):
    """The fields of a /proc status file that the sandbox sets."""
    out = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.partition(":")
            value = value.strip()
            if key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
                out[key] = int(value, 16)
            elif key in ("Seccomp", "NoNewPrivs"):
                out[key] = int(value)
            elif key == "Name":
                out[key] = value
    return out


def threads(pid):
    d = "/proc/%d/task" % pid
    return {tid: status(os.path.join(d, tid, "status")) for tid in os.listdir(d)}


def settled(pid, want_seccomp, nthreads, timeout=TIMEOUT):
    """Every thread's status once all nthreads exist and show want_seccomp
    (the main thread enters its sandbox just after starting the vCPUs)."""
    end = time.monotonic() + timeout
    while True:
        t = threads(pid)
        if len(t) == nthreads and all(s["Seccomp"] == want_seccomp for s in t.values()):
            return t
        if time.monotonic() > end:
            return t
        time.sleep(0.05)


def have_setpcap():
    return bool(status("/proc/self/status")["CapEff"] & (1 << CAP_SETPCAP))


class DebugGuest:
    """bvmdbg: echoes what arrives on the -g TCP port until a 'q', so the
    runner stays up while the test looks at it; -G adds the GDB stub thread
    and a virtio-blk disk its I/O threads."""

    def __init__(self, tmp_path, args=()):
        self.port = free_port()
        disk = tmp_path / "disk.img"
        disk.write_bytes(b"\0" * (1 << 20))
        argv = [bhyve_path(), *args, "-c", "2", "-g", str(self.port), "-G", str(free_port()),
                "-s", "0,hostbridge", "-s", "3,virtio-blk,%s" % disk, "-s", "31,lpc",
                "-l", "com1,stdio", "--kernel", guest_path("bvmdbg"), "sbx"]
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)

    def wait_ready(self):
        line = readline(self.p.stdout, TIMEOUT)
        if line != b"bvmdbg sig 0x00004256\n":
            self.kill()
            pytest.fail("the guest did not start: %r, stderr: %r" % (line, self.p.stderr.read()))

    def finish(self):
        """Echo a few bytes over TCP, then 'q': the guest exits 0."""
        c = socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)
        c.sendall(b"ping")
        got = b""
        while len(got) < 4:
            chunk = c.recv(16)
            assert chunk, got
            got += chunk
        assert got == b"ping"
        c.sendall(b"q")
        out, err = self.p.communicate(timeout=TIMEOUT)
        c.close()
        return self.p.returncode, out, err

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=TIMEOUT)


def assert_no_caps(s, what):
    for key in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
        assert s[key] == 0, (what, s)
    if have_setpcap():
        assert s["CapBnd"] == 0, (what, s)
    assert s["NoNewPrivs"] == 1, (what, s)


def run_and_inspect(tmp_path, args, want_seccomp):
    g = DebugGuest(tmp_path, args)
    try:
        g.wait_ready()
        nthreads = len(os.listdir("/proc/%d/task" % g.p.pid))
        t = settled(g.p.pid, want_seccomp, nthreads)
        rc, out, err = g.finish()
    finally:
        g.kill()
    return t, rc, out, err


def test_every_thread_confined_while_running(tmp_path):
    t, rc, out, err = run_and_inspect(tmp_path, [], 2)
    names = sorted(s["Name"] for s in t.values())
    # main (named after the VM), both vCPUs (this guest never starts vcpu 1,
    # whose thread is confined all the same), the GDB stub and virtio-blk's
    # I/O threads: nothing else.
    assert set(names) == {"bhyve: sbx", "vcpu 0", "vcpu 1", "gdb", "blk io"}, names
    for tid, s in t.items():
        assert s["Seccomp"] == 2, (tid, s)
        assert_no_caps(s, tid)
    assert (rc, out) == (0, b"bvmdbg done\n"), err


@pytest.mark.parametrize("args", [["--no-seccomp"], ["-o", "seccomp=false"]],
                         ids=["no-seccomp", "o-seccomp-false"])
def test_filters_off(tmp_path, args):
    t, rc, out, err = run_and_inspect(tmp_path, args, 0)
    for tid, s in t.items():
        assert s["Seccomp"] == 0, (tid, s)
        # Capabilities go either way: only the filters are a debugging knob.
        assert_no_caps(s, tid)
    assert (rc, out) == (0, b"bvmdbg done\n"), err


# Guests that end by themselves: reset (0), halt with every AP started by
# INIT/SIPI after the filters are on (2), triple fault (3), strict I/O and
# unmapped memory (4, with their messages).
OUTCOMES = {
    "reset": ("reset", [], None),
    "smp": ("smp", ["-c", "4"], "4"),
    "smp-halt": ("smp", ["-c", "4"], "4 h"),
    "triple": ("triple", [], None),
    "ioport-e": ("ioport", ["-e"], None),
    "unmapped": ("unmapped", [], None),
    "msr": ("msr", [], None),
    "rep": ("rep", [], None),
}


def run_guest(name, args, cmdline, extra):
    argv = [bhyve_path(), *extra, *args, "-s", "31,lpc", "-l", "com1,stdio", "--kernel",
            guest_path(name)]
    if cmdline is not None:
        argv += ["--cmdline", cmdline]
    p = subprocess.run(argv + ["sbx"], stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=TIMEOUT)
    return p.returncode, p.stdout, p.stderr


def smp_sorted(out):
    # The APs print in any order.
    return sorted(out.splitlines())


@pytest.mark.parametrize("case", list(OUTCOMES))
def test_same_outcome_with_and_without_filters(case):
    name, args, cmdline = OUTCOMES[case]
    rc_on, out_on, err_on = run_guest(name, args, cmdline, [])
    rc_off, out_off, err_off = run_guest(name, args, cmdline, ["--no-seccomp"])
    assert rc_on == rc_off, (err_on, err_off)
    assert smp_sorted(out_on) == smp_sorted(out_off), (out_on, out_off)
    assert b"seccomp" not in err_on, err_on
    assert err_on.replace(b"\r", b"") == err_off.replace(b"\r", b"")


def test_seccomp_value_checked():
    p = subprocess.run([bhyve_path(), "-o", "seccomp=maybe", "--kernel", guest_path("reset"),
                        "sbx"], stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT)
    assert p.returncode == 64
    assert b"seccomp=maybe: expected true or false" in p.stderr


def test_help_names_the_option():
    p = subprocess.run([bhyve_path(), "-h"], capture_output=True, timeout=TIMEOUT)
    assert p.returncode == 0
    assert b"--no-seccomp" in p.stdout
