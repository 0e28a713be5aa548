"""scripts/kvm-run: exit statuses, output streams, timeouts, the QEMU test bed.

Under `make integration` these tests already run where /dev/kvm works, so
kvm-run runs commands directly.  The bed itself is tested from outside it
(marker bed_outside; KVM_RUN_FORCE_QEMU=1 where the host's KVM would be
used): scripts/run-integration runs those on the host before the bed
session.  Each of them boots the bed, seconds of TCG, so they are few and
do much.
"""

import os
import subprocess
import time

import pytest

import guestlib

KVM_RUN = str(guestlib.scripts_dir() / "kvm-run")

# Opens /dev/kvm and creates a VM: proof of a working KVM, not just a node.
PY_CREATE_VM = ("import fcntl, os; fd = os.open('/dev/kvm', os.O_RDWR); "
                "os.close(fcntl.ioctl(fd, 0xAE01, 0)); print('vm')")


def kvm_run(args, timeout=60, env=None, cwd=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([KVM_RUN] + args, capture_output=True, text=True,
                          timeout=timeout, env=full_env, stdin=subprocess.DEVNULL,
                          cwd=cwd or guestlib.repo_root())


def wait_gone(pid, seconds=10):
    """True once no process has PID (or it is a zombie nobody reaped yet)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def processes_mentioning(text):
    """Pids whose command line holds text."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    found.append(int(d))
        except OSError:
            pass
    return found


@pytest.mark.parametrize("status", [0, 1, 7])
def test_exit_status(status):
    r = kvm_run(["--", "sh", "-c", f"exit {status}"])
    assert r.returncode == status
    assert r.stdout == ""
    assert r.stderr == ""


def test_streams_stay_separate():
    r = kvm_run(["--", "sh", "-c", "echo out; echo err >&2; echo out2"])
    assert (r.returncode, r.stdout, r.stderr) == (0, "out\nout2\n", "err\n")


def test_arguments_survive():
    words = ["a b", "it's", 'say "hi"', "$HOME", "", "*", "back\\slash", "two\nlines"]
    r = kvm_run(["--", "printf", "<%s>\\n"] + words)
    assert r.returncode == 0
    assert r.stdout == "".join(f"<{w}>\n" for w in words)


def test_dev_kvm_is_there():
    r = kvm_run(["--", "sh", "-c", "test -c /dev/kvm && exit 7"])
    assert r.returncode == 7


def test_timeout_ends_the_process_group(tmp_path):
    # The child in the background must die with its parent.
    pidfile = tmp_path / "pids"
    start = time.monotonic()
    r = kvm_run(["--timeout", "2", "--", "sh", "-c",
                 f"sleep 60 & echo $! > {pidfile}; echo $$ >> {pidfile}; wait"])
    assert r.returncode == 124
    assert time.monotonic() - start < 15
    assert r.stderr == "kvm-run: timed out after 2 s\n"
    pids = [int(p) for p in pidfile.read_text().split()]
    assert len(pids) == 2
    for pid in pids:
        assert wait_gone(pid), f"pid {pid} survived the timeout"


def test_usage_errors():
    assert kvm_run([]).returncode == 2
    assert kvm_run(["--timeout", "x", "--", "true"]).returncode == 2


# --- the QEMU test bed, forced (only outside the bed, on a machine with KVM) ---

def needs_bed_check(test):
    """A test of the bed itself: marked bed_outside, skipped inside a bed."""
    skip = pytest.mark.skipif(guestlib.inside_bed(), reason="the bed is tested from outside it")
    return pytest.mark.bed_outside(skip(test))

FORCE = {"KVM_RUN_FORCE_QEMU": "1"}
BOOT_TIMEOUT = 240


@pytest.fixture(name="bed_tmp")
def _bed_tmp(tmp_path, assets):
    """A TMPDIR for kvm-run's job directory, checked empty afterwards."""
    yield tmp_path
    assert not processes_mentioning(str(tmp_path)), "processes left behind"
    assert not list(tmp_path.glob("kvm-run.*")), "job directory left behind"


@needs_bed_check
def test_bed_runs_kvm_and_keeps_streams_apart(bed_tmp):
    # Exit 7 and every property the bed promises, in one boot.
    script = r"""
test -c /dev/kvm || exit 99
/usr/bin/python3 -c "$1" || exit 98
test "$KVM_RUN_INSIDE" = 1 || exit 97
test "$PWD" = "$2" || exit 96
printf '<%s>\n' "$3" "$4"
echo err >&2
exit 7
"""
    r = kvm_run(["--cpus", "2", "--mem", "1G", "--", "sh", "-c", script, "sh", PY_CREATE_VM,
                 str(guestlib.repo_root()), "a b", "it's \"q\""],
                timeout=BOOT_TIMEOUT, env=dict(FORCE, TMPDIR=str(bed_tmp)))
    assert r.returncode == 7, r.stderr
    assert r.stdout == "vm\n<a b>\n<it's \"q\">\n"
    assert r.stderr == "err\n"


@needs_bed_check
def test_bed_status_0_and_writable_tree(bed_tmp):
    # The working tree is writable, the rest of the host is not.
    probe = guestlib.repo_root() / "build" / f"kvm-run-probe-{os.getpid()}"
    probe.parent.mkdir(exist_ok=True)
    try:
        script = f"echo in-bed > {probe} && ! touch /kvm-run-probe 2>/dev/null"
        r = kvm_run(["--mem", "1G", "--", "sh", "-c", script],
                    timeout=BOOT_TIMEOUT, env=dict(FORCE, TMPDIR=str(bed_tmp)))
        assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
        assert probe.read_text() == "in-bed\n"
    finally:
        probe.unlink(missing_ok=True)


@needs_bed_check
def test_bed_status_1(bed_tmp):
    r = kvm_run(["--mem", "1G", "--", "false"], timeout=BOOT_TIMEOUT,
                env=dict(FORCE, TMPDIR=str(bed_tmp)))
    assert (r.returncode, r.stdout, r.stderr) == (1, "", "")


@needs_bed_check
def test_bed_timeout(bed_tmp):
    # Shorter than a boot: QEMU itself must be ended.
    start = time.monotonic()
    r = kvm_run(["--timeout", "2", "--mem", "1G", "--", "sleep", "60"], timeout=60,
                env=dict(FORCE, TMPDIR=str(bed_tmp)))
    assert r.returncode == 124
    assert r.stdout == ""
    assert r.stderr == "kvm-run: timed out after 2 s\n"
    assert time.monotonic() - start < 15
