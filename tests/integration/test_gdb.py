"""The GDB stub (bhyve -G [w][addr:]port, issue 7): Debian's gdb attaches to
the test guest tests/guests/gdbtarget.S (built by `make guests`, symbols in
build/guests/gdbtarget.elf), stops at a breakpoint, reads registers and
memory, single-steps, changes guest memory and detaches; the guest then
prints what the debugger wrote.  A small client of the remote serial
protocol checks the packets gdb's batch mode does not reach: threads (one
per vCPU), checksums, a second debugger refused, errors on unmapped
memory, Ctrl-C on a running guest, a fifth software breakpoint patched in
as an INT3.  Last, a debugger attaches to a running
Linux guest with two vCPUs, reads kernel registers and memory, interrupts
it and detaches, and the guest carries on."""
import os
import select
import shutil
import socket
import subprocess
import time

import pytest

import guestlib
from guestlib import bhyve_path, repo_root

from bhyveguest import guest, initrd  # noqa: F401 (fixtures)

TIMEOUT = 300


def guest_file(ext):
    path = os.path.join(repo_root(), "build/guests/gdbtarget." + ext)
    if not os.path.exists(path):
        pytest.fail("%s is missing: run `make guests`" % path, pytrace=False)
    return path


def symbols():
    out = subprocess.run(["nm", guest_file("elf")], capture_output=True, text=True,
                         check=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3:
            syms[parts[2]] = int(parts[0], 16)
    return syms


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(port, args=()):
    argv = [bhyve_path(), "-G", "w127.0.0.1:%d" % port, *args, "-s", "31,lpc", "-l",
            "com1,stdio", "--kernel", guest_file("bin"), "gdbvm"]
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def wait_listening(p, deadline=60):
    """-G w... says so on stderr once the listener is up."""
    end = time.time() + deadline
    line = b""
    while b"waiting for a debugger" not in line:
        r, _, _ = select.select([p.stderr], [], [], max(0, end - time.time()))
        assert r, "no 'waiting for a debugger' message"
        line = p.stderr.readline()
        assert line, "bhyve exited"


def connect(port, deadline=60):
    end = time.time() + deadline
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            if time.time() > end:
                raise
            time.sleep(0.1)


def finish(p):
    try:
        out, err = p.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")


class Rsp:
    """Just enough of the GDB remote serial protocol (GDB manual, appendix E)."""

    def __init__(self, sock):
        self.s = sock
        self.buf = b""

    def _byte(self, timeout):
        if not self.buf:
            self.s.settimeout(timeout)
            data = self.s.recv(4096)
            if not data:
                raise EOFError("connection closed")
            self.buf = data
        b, self.buf = self.buf[:1], self.buf[1:]
        return b

    @staticmethod
    def frame(data):
        return b"$%s#%02x" % (data, sum(data) & 0xFF)

    def send_raw(self, raw):
        self.s.sendall(raw)

    def ack(self, timeout=60):
        return self._byte(timeout)

    def reply(self, timeout=60):
        while self._byte(timeout) != b"$":
            pass
        data = b""
        while True:
            b = self._byte(timeout)
            if b == b"#":
                break
            data += b
        csum = self._byte(timeout) + self._byte(timeout)
        assert int(csum, 16) == sum(data) & 0xFF
        self.s.sendall(b"+")
        return data.decode()

    def cmd(self, data, timeout=60):
        self.send_raw(self.frame(data.encode()))
        assert self.ack(timeout) == b"+"
        return self.reply(timeout)

    def reg(self, regs_hex, index):
        """A 64-bit register of a 'g' reply (64bit-core.xml order)."""
        return int.from_bytes(bytes.fromhex(regs_hex[16 * index:16 * index + 16]), "little")


RIP = 16


def test_gdb_breakpoint_step_memory_detach():
    if not shutil.which("gdb"):
        pytest.skip("gdb is not installed")
    port = free_port()
    p = start(port)
    wait_listening(p)
    cmds = ["target remote 127.0.0.1:%d" % port, "break target_fn", "continue",
            "info registers rip", "x/4xb &message", "x/1xb target_fn", "stepi",
            "info registers rip rbx", "awatch *(char *)&go", "continue", "delete",
            "set {char}&message = 0x4f", "set {char}&go = 1", "x/s &message", "detach"]
    argv = ["gdb", "--batch", "-nx"]
    for c in cmds:
        argv += ["-ex", c]
    g = subprocess.run(argv + [guest_file("elf")], capture_output=True, text=True,
                       timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    rc, out, err = finish(p)
    log = g.stdout + g.stderr
    syms = symbols()
    assert "Breakpoint 1, 0x%016x in target_fn" % syms["target_fn"] in log, log
    assert "0x%x <target_fn>" % syms["target_fn"] in log, log
    assert "<message>:\t0x6f\t0x72\t0x69\t0x67" in log, log
    # The INT3 of the software breakpoint is not what gdb reads there.
    assert "<target_fn>:\t0x83" in log, log
    # stepi ran `add $41, %ebx` (3 bytes) with %ebx = 1.
    assert "0x%x <target_fn+3>" % (syms["target_fn"] + 3) in log, log
    assert "rbx            0x2a                42" in log, log
    # The access watchpoint stops the guest in its loop reading `go`.
    assert "Hardware access (read/write) watchpoint 2: *(char *)&go" in log, log
    assert '<message>:\t"Original"' in log, log
    assert "detached" in log, log
    assert (rc, out) == (0, "Original\n"), err + log


def test_gdb_protocol_threads_errors_and_interrupt():
    port = free_port()
    syms = symbols()
    p = start(port, ["-c", "2"])
    try:
        r = Rsp(connect(port))
        assert "PacketSize=1000" in r.cmd("qSupported:multiprocess+;hwbreak+")
        assert r.cmd("?") == "T05thread:1;"
        assert r.cmd("qfThreadInfo") == "m1,2"
        assert r.cmd("qsThreadInfo") == "l"
        assert r.cmd("T2") == "OK"
        assert r.cmd("T3").startswith("E")
        assert r.cmd("vCont?") == ""
        # A bad checksum is refused with '-'.
        r.send_raw(b"$g#00")
        assert r.ack() == b"-"
        # One debugger at a time: a second connection is closed at once.
        with connect(port) as second:
            second.settimeout(30)
            assert second.recv(16) == b""
        regs = r.cmd("g")
        # 17 64-bit registers, eflags and six segment selectors.
        assert len(regs) == 2 * (17 * 8 + 7 * 4)
        assert r.reg(regs, RIP) == syms["guest_entry64"]
        assert r.cmd("Hg2") == "OK"
        assert len(r.cmd("g")) == len(regs)
        assert r.cmd("Hg1") == "OK"
        assert r.cmd("m%x,8" % syms["message"]) == b"original".hex()
        assert r.cmd("mffff800000000000,4") == "E14"
        assert r.cmd("Mffff800000000000,1:00") == "E14"
        assert "swbreak+" in r.cmd("qSupported:swbreak+;hwbreak+")
        # A software breakpoint takes a free debug register (guest memory
        # keeps 0x83, the `add $41, %ebx`); the stop reply names the thread
        # and the reason.  (Past four, Z0 patches an INT3: see
        # test_gdb_fifth_software_breakpoint_is_an_int3.)
        fn = syms["target_fn"]
        assert r.cmd("Z0,%x,1" % fn) == "OK"
        assert r.cmd("m%x,1" % fn) == "83"
        assert r.cmd("c", timeout=TIMEOUT) == "T05thread:1;hwbreak:;"
        assert r.reg(r.cmd("g"), RIP) == fn
        assert r.cmd("z0,%x,1" % fn) == "OK"
        # A hardware breakpoint on the nop after the add.
        assert r.cmd("Z1,%x,1" % (fn + 3)) == "OK"
        assert r.cmd("c", timeout=TIMEOUT) == "T05thread:1;hwbreak:;"
        assert r.reg(r.cmd("g"), RIP) == fn + 3
        assert r.cmd("z1,%x,1" % (fn + 3)) == "OK"
        # Single step: one instruction.
        assert r.cmd("s", timeout=TIMEOUT) == "T05thread:1;"
        assert r.reg(r.cmd("g"), RIP) == fn + 4
        # Watchpoints: misaligned is refused; an access watchpoint on `go`
        # stops the guest in wait_go, which reads it.
        assert r.cmd("Z2,%x,2" % (syms["go"] | 1)).startswith("E")
        assert r.cmd("Z4,%x,1" % syms["go"]) == "OK"
        assert r.cmd("c", timeout=TIMEOUT) == "T05thread:1;awatch:%x;" % syms["go"]
        rip = r.reg(r.cmd("g"), RIP)
        assert syms["wait_go"] <= rip < fn, hex(rip)
        assert r.cmd("z4,%x,1" % syms["go"]) == "OK"
        # Run into the wait loop, then Ctrl-C stops the VM there.
        r.send_raw(b"$c#63")
        assert r.ack() == b"+"
        time.sleep(2)
        r.send_raw(b"\x03")
        assert r.reply(timeout=TIMEOUT).startswith("T02thread:")
        assert r.cmd("Hg1") == "OK"
        rip = r.reg(r.cmd("g"), RIP)
        assert syms["wait_go"] <= rip < syms["target_fn"], hex(rip)
        assert r.cmd("M%x,2:4f4b" % syms["message"]) == "OK"
        assert r.cmd("M%x,1:01" % syms["go"]) == "OK"
        assert r.cmd("D") == "OK"
        r.s.close()
    finally:
        rc, out, err = finish(p)
    assert (rc, out) == (0, "OKiginal\n"), err


def test_gdb_fifth_software_breakpoint_is_an_int3():
    """Past four software breakpoints (the debug registers are taken), Z0
    patches an INT3 into guest memory.  gdb reads the original byte there;
    where KVM intercepts #BP, continuing stops at it (swbreak) and removing
    it lets the guest finish.  In the test bed, QEMU's emulated AMD-V does
    not intercept INT3, so the guest (no IDT) meets its own #BP and dies of
    a triple fault: proof the byte was in guest memory; without the INT3 it
    would spin in wait_go for ever."""
    port = free_port()
    syms = symbols()
    fn = syms["target_fn"]
    bed = guestlib.inside_bed()
    p = start(port)
    try:
        r = Rsp(connect(port))
        r.cmd("qSupported:swbreak+;hwbreak+")
        # Four breakpoints in data the guest never runs take DR0-DR3.
        for i in range(4):
            assert r.cmd("Z0,%x,1" % (syms["message"] + i)) == "OK"
        assert r.cmd("Z0,%x,1" % fn) == "OK"
        # gdb sees `add $41, %ebx` (0x83), not the INT3 under it; a write
        # over it changes the byte kept (written back the same here).
        assert r.cmd("m%x,1" % fn) == "83"
        assert r.cmd("M%x,1:83" % fn) == "OK"
        assert r.cmd("m%x,1" % fn) == "83"
        if bed:
            r.send_raw(b"$c#63")
            assert r.ack() == b"+"
        else:
            assert r.cmd("c", timeout=TIMEOUT) == "T05thread:1;swbreak:;"
            assert r.reg(r.cmd("g"), RIP) == fn
            for i in range(4):
                assert r.cmd("z0,%x,1" % (syms["message"] + i)) == "OK"
            assert r.cmd("z0,%x,1" % fn) == "OK"
            assert r.cmd("M%x,1:01" % syms["go"]) == "OK"
            assert r.cmd("D") == "OK"
            r.s.close()
    finally:
        rc, out, err = finish(p)
    if bed:
        assert rc == 3, err
    else:
        assert (rc, out) == (0, "original\n"), err


def test_gdb_bad_option_is_a_usage_error():
    p = subprocess.run([bhyve_path(), "-G", "w127.0.0.1:notaport", "--kernel",
                        guest_file("bin"), "gdbvm"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 64
    assert "-G w127.0.0.1:notaport" in p.stderr


KERNEL_BASE = 0xFFFFFFFF80000000
USER_TOP = 0x0000800000000000  # end of the lower canonical half (4-level paging)


def test_gdb_attach_interrupt_detach_linux(guest):
    port = free_port()
    g = guest(cpus="2", args=["-H", "-G", "127.0.0.1:%d" % port])
    r = Rsp(connect(port))
    assert r.cmd("?").startswith("T05thread:")
    assert r.cmd("qfThreadInfo") == "m1,2"
    for t in (1, 2):
        assert r.cmd("Hg%d" % t) == "OK"
        rip = r.reg(r.cmd("g"), RIP)
        # Kernel text, or (when the vCPU was running a process at that
        # moment) user text: either way canonical and mapped.
        assert rip >= KERNEL_BASE or 0 < rip < USER_TOP, hex(rip)
        # The code at rip, read through the vCPU's page tables.
        code = r.cmd("m%x,10" % rip)
        assert len(code) == 32, code
    r.send_raw(b"$c#63")
    assert r.ack() == b"+"
    time.sleep(1)
    r.send_raw(b"\x03")
    assert r.reply(timeout=TIMEOUT).startswith("T02thread:")
    rip = r.reg(r.cmd("g"), RIP)
    assert rip >= KERNEL_BASE or 0 < rip < USER_TOP, hex(rip)
    assert r.cmd("D") == "OK"
    r.s.close()
    assert g.sh("echo $((6 * 7))") == "42"
    g.p.sendline("reboot -f")
    assert g.wait_exit() == 0
