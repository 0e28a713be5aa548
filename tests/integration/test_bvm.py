"""FreeBSD's bvm ports (issue 7): the bvm console on I/O port 0x220 (-b,
bridged to stdio) and the bvm debug port on 0x224 (-g PORT, bridged to a
TCP listener on 127.0.0.1), driven by the Multiboot test guests bvmcons and
bvmdbg of tests/guests/mb."""
import os
import select
import socket
import subprocess
import time

import pytest

from guestlib import bhyve_path, repo_root

TIMEOUT = 60


def guest_path(name):
    path = os.path.join(repo_root(), "build/guests/mb/%s.elf" % name)
    if not os.path.exists(path):
        pytest.fail("%s is missing: run `make guests`" % path, pytrace=False)
    return path


def bhyve(args, **kw):
    return subprocess.run([bhyve_path(), *args], capture_output=True, timeout=TIMEOUT, **kw)


def test_console_output_and_input():
    # The input waits in the pipe before the guest starts reading it.
    p = bhyve(["-b", "--kernel", guest_path("bvmcons"), "bvm"], input=b"hello bvm\n")
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"bvmcons sig 0x00006276\ngot: hello bvm\n"


def test_console_without_input():
    p = bhyve(["-b", "--kernel", guest_path("bvmcons"), "bvm"], stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"bvmcons sig 0x00006276\ngot nothing\n"


def test_console_absent_without_b():
    # No device at 0x220: the probe reads all-ones, the guest gives up at
    # once; with -e the probe itself aborts.
    p = bhyve(["--kernel", guest_path("bvmcons"), "bvm"], stdin=subprocess.DEVNULL)
    assert (p.returncode, p.stdout) == (0, b""), p.stderr
    p = bhyve(["-e", "--kernel", guest_path("bvmcons"), "bvm"], stdin=subprocess.DEVNULL)
    assert p.returncode == 4
    assert b"unhandled read of port 0x220 (2 bytes)" in p.stderr


def test_console_and_a_uart_cannot_share_stdio():
    p = bhyve(["-b", "-s", "31,lpc", "-l", "com1,stdio", "--kernel", guest_path("bvmcons"),
               "bvm"], stdin=subprocess.DEVNULL)
    assert p.returncode == 64
    assert b"-b: the bvm console and com1 both want stdio" in p.stderr
    assert p.stdout == b""
    p = bhyve(["-b", "-s", "0,hostbridge", "-s", "3,uart,stdio", "--kernel",
               guest_path("bvmcons"), "bvm"], stdin=subprocess.DEVNULL)
    assert p.returncode == 64
    assert b"-b: the bvm console and a PCI uart both want stdio" in p.stderr


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


def test_debug_port_echo_over_tcp():
    port = free_port()
    p = subprocess.Popen([bhyve_path(), "-g", str(port), "-s", "31,lpc", "-l", "com1,stdio",
                          "--kernel", guest_path("bvmdbg"), "bvm"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # The guest found the port and now polls it.
        assert readline(p.stdout, TIMEOUT) == b"bvmdbg sig 0x00004256\n"
        c = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        # One debugger at a time: a second client is closed at once.
        c2 = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        assert c2.recv(16) == b""
        c2.close()
        msg = b"$g#67+$m0,4#fd\x00\xfe"  # no "q": that ends the guest
        c.sendall(msg)
        got = b""
        while len(got) < len(msg):
            chunk = c.recv(256)
            assert chunk, got
            got += chunk
        assert got == msg
        c.sendall(b"q")
        out, err = p.communicate(timeout=TIMEOUT)
        assert p.returncode == 0, err
        assert out == b"bvmdbg done\n"
        c.close()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=TIMEOUT)


def test_debug_port_listens_on_loopback_only():
    port = free_port()
    p = subprocess.Popen([bhyve_path(), "-g", str(port), "-s", "31,lpc", "-l", "com1,stdio",
                          "--kernel", guest_path("bvmdbg"), "bvm"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert readline(p.stdout, TIMEOUT) == b"bvmdbg sig 0x00004256\n"
        with open("/proc/net/tcp") as f:
            rows = [line.split() for line in f.readlines()[1:]]
        # local_address is hex IP:port, state 0A is LISTEN.
        listening = [r[1] for r in rows if r[3] == "0A" and r[1].endswith(":%04X" % port)]
        assert listening == ["0100007F:%04X" % port], listening
    finally:
        p.kill()
        p.wait(timeout=TIMEOUT)


@pytest.mark.parametrize("arg", ["0", "65536", "abc", "-1"])
def test_debug_port_bad_value(arg):
    p = bhyve(["-g", arg, "--kernel", guest_path("bvmdbg"), "bvm"], stdin=subprocess.DEVNULL)
    assert p.returncode == 64
    assert b"-g " + arg.encode() + b": expected a TCP port from 1 to 65535" in p.stderr


def test_debug_port_in_use():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    try:
        p = bhyve(["-g", str(port), "--kernel", guest_path("bvmdbg"), "bvm"],
                  stdin=subprocess.DEVNULL)
    finally:
        s.close()
    assert p.returncode == 4
    assert ("-g %d: cannot listen on 127.0.0.1:%d" % (port, port)).encode() in p.stderr
