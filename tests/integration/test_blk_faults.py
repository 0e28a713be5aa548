"""Durability and faults under a running guest (issues 5 and 9), with a test
guest that drives virtio-blk itself (tests/guests/mbc/blkguest.c), so each
run takes well under a second:

- data the guest wrote and FLUSHed survives a SIGKILL of the runner that
  lands while the guest keeps writing elsewhere (20 runs out of 20);
- an image truncated under the guest: reads past the new end fail with an
  I/O error status, the runner keeps running and exits normally;
- an image removed under the guest: I/O goes on (the open file lives on);
- the console's stdout closed: output is dropped, the guest runs on and the
  runner exits with the guest's status."""
import os
import select
import signal
import subprocess
import time

import pytest

from guestlib import bhyve_path, repo_root

GUEST = os.path.join(repo_root(), "build/guests/mbc/blkguest.elf")
MIB = 1 << 20


def argv(image, cmdline):
    return [bhyve_path(), "-s", "0,hostbridge", "-s", "4,virtio-blk,%s" % image,
            "-s", "31,lpc", "-l", "com1,stdio", "--kernel", GUEST, "--cmdline", cmdline,
            "blkguest"]


def start(image, cmdline, **kw):
    assert os.path.exists(GUEST), "make guests first"
    return subprocess.Popen(argv(image, cmdline), stdin=kw.pop("stdin", subprocess.DEVNULL),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def read_until(p, want, timeout=60):
    """Read the runner's stdout until a line holding want; return it all."""
    out = b""
    deadline = time.monotonic() + timeout
    while want not in out:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([p.stdout], [], [], left)[0]:
            p.kill()
            raise AssertionError("no %r in %r; stderr %r" % (want, out, p.stderr.read()))
        b = os.read(p.stdout.fileno(), 4096)
        if not b:
            raise AssertionError("EOF before %r in %r; status %s, stderr %r"
                                 % (want, out, p.wait(), p.stderr.read()))
        out += b
    return out


def pattern(run):
    """The 64 KiB blkguest writes for "durable RUN" (pattern_byte)."""
    return bytes(((j * 31 + run * 17 + (j >> 9)) & 0xFF) for j in range(65536))


def test_flushed_data_survives_sigkill(tmp_path):
    image = tmp_path / "disk.img"
    with open(image, "wb") as f:
        f.truncate(8 * MIB)
    for run in range(1, 21):
        p = start(image, "durable %d" % run)
        try:
            read_until(p, b"durable %d\n" % run)
            p.send_signal(signal.SIGKILL)
            assert p.wait(timeout=30) == -signal.SIGKILL
        finally:
            p.kill()
            p.wait()
        with open(image, "rb") as f:
            got = f.read(65536)
        assert got == pattern(run), "run %d: acknowledged data lost" % run


def faults_guest(tmp_path, damage):
    image = tmp_path / "disk.img"
    with open(image, "wb") as f:
        f.truncate(4 * MIB)
    p = start(image, "faults", stdin=subprocess.PIPE)
    try:
        read_until(p, b"ready\n")
        damage(image)
        p.stdin.write(b"g")
        p.stdin.flush()
        out = read_until(p, b"write status")
        out += p.stdout.read()
        status = p.wait(timeout=60)
        return out.decode(), status, p.stderr.read().decode()
    finally:
        p.kill()
        p.wait()


def test_image_truncated_under_the_guest(tmp_path):
    out, status, err = faults_guest(tmp_path, lambda image: os.truncate(image, 0))
    # Every read past the new end is an I/O error for the guest ...
    assert "reads ok=0 err=64" in out, (out, err)
    # ... the device still works (a write extends the file) ...
    assert "write status 0" in out, (out, err)
    # ... and the runner exits with the guest's outcome (reset: 0).
    assert status == 0, err


def test_image_removed_under_the_guest(tmp_path):
    out, status, err = faults_guest(tmp_path, os.unlink)
    assert "reads ok=64 err=0" in out, (out, err)
    assert "write status 0" in out, (out, err)
    assert status == 0, err


def test_stdout_closed_under_the_guest(tmp_path):
    image = tmp_path / "disk.img"
    image.write_bytes(bytes(MIB))
    p = start(image, "print 400")
    try:
        read_until(p, b"line 1\n")
        # The console's reader goes away: the runner's writes fail (EPIPE),
        # the output is dropped and the guest runs to its end.
        p.stdout.close()
        status = p.wait(timeout=120)
        err = p.stderr.read().decode()
    finally:
        p.kill()
        p.wait()
    assert status == 0, err
    assert "Sanitizer" not in err and "Segmentation" not in err, err
