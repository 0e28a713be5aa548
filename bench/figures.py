"""One measurement of each figure, for one runner (runs where /dev/kvm works:
inside the test bed of scripts/kvm-run, or directly on a real KVM host).

Every function returns a dict of numbers (and a few strings) for one run,
or raises BenchError.  Times are wall-clock seconds from just before the
VMM is started (fork + exec by pexpect), read as the guest's lines arrive
on its console (COM1 on stdio, a pty).
"""
import glob
import os
import re
import statistics
import subprocess
import time

import pexpect

import runners

BOOT_TIMEOUT = 300
PM_TIMER_HZ = 3579545  # ACPI 6.4 §4.8.3.3
KVM_DEBUGFS = "/sys/kernel/debug/kvm"
# KVM's per-VM counters read before and after each phase (debugfs; the
# same numbers for every VMM, so exits can be compared between runners).
KVM_COUNTERS = ("exits", "io_exits", "mmio_exits", "halt_exits", "irq_exits",
                "signal_exits", "irq_window_exits", "halt_wakeup", "insn_emulation")
CMDLINE = "console=ttyS0 quiet panic=-1"


class BenchError(Exception):
    pass


def mount_debugfs():
    """KVM's counters live in debugfs; mount it when it is not (as root)."""
    if os.path.isdir(KVM_DEBUGFS):
        return True
    subprocess.run(["mount", "-t", "debugfs", "debugfs", "/sys/kernel/debug"],
                   capture_output=True, timeout=30)
    return os.path.isdir(KVM_DEBUGFS)


def kvm_counters(pid):
    """The KVM counters of the VM that process pid created, or {}."""
    dirs = glob.glob("%s/%d-*" % (KVM_DEBUGFS, pid))
    if len(dirs) != 1:
        return {}
    out = {}
    for name in KVM_COUNTERS:
        try:
            with open(os.path.join(dirs[0], name)) as f:
                out[name] = int(f.read())
        except (OSError, ValueError):
            pass
    return out


def counters_delta(before, after):
    return {k: after[k] - before[k] for k in after if k in before}


class Vm:
    """A VMM process with its console on a pty; log: a file for the console."""

    def __init__(self, argv, log):
        self.log = open(log, "w")
        self.log.write("# %s\n" % " ".join(argv))
        self.t0 = time.monotonic()
        self.p = pexpect.spawn(argv[0], argv[1:], encoding="utf-8", codec_errors="replace",
                               timeout=BOOT_TIMEOUT, maxread=65536, echo=False)
        self.p.logfile_read = self.log

    @property
    def pid(self):
        return self.p.pid

    def expect(self, pattern, timeout=BOOT_TIMEOUT):
        """Wait for pattern (a regex); (seconds since start, match)."""
        i = self.p.expect([pattern, pexpect.EOF, pexpect.TIMEOUT], timeout=timeout)
        t = time.monotonic() - self.t0
        if i == 1:
            raise BenchError("the VMM exited before %r (see %s)" % (pattern, self.log.name))
        if i == 2:
            raise BenchError("no %r within %d s (see %s)" % (pattern, timeout, self.log.name))
        return t, self.p.match

    def wait_exit(self, timeout=120):
        """Seconds since start at the VMM's exit, and its exit status."""
        i = self.p.expect([pexpect.EOF, pexpect.TIMEOUT], timeout=timeout)
        if i == 1:
            raise BenchError("the VMM did not exit within %d s" % timeout)
        # EOF on the pty comes with the exit; close() reaps the process.
        self.p.close()
        t = time.monotonic() - self.t0
        return t, self.p.exitstatus if self.p.exitstatus is not None else -self.p.signalstatus

    def close(self):
        if self.p.isalive():
            self.p.terminate(force=True)
        self.p.close(force=True)
        self.log.close()


def linux_guest(ctx, mode, initrd, cpus=1, mem_mib=256, extra="", net=False):
    return runners.Guest(kernel=ctx.kernel, initrd=initrd, cpus=cpus, mem_mib=mem_mib,
                         cmdline="%s bench=%s %s" % (CMDLINE, mode, extra),
                         disk=ctx.disk, tap=ctx.tap if net else None)


def start(ctx, runner, guest, tag):
    argv = runners.argv(runner, ctx.bhyve, guest)
    ctx.seq += 1
    log = os.path.join(ctx.logdir, "%03d-%s-%s.log" % (ctx.seq, tag, runner))
    return Vm(argv, log)


def boot(ctx, runner, cpus=1):
    """exec -> the init's marker, exec -> the VMM's exit after power-off."""
    vm = start(ctx, runner, linux_guest(ctx, "boot", ctx.boot_initrd, cpus=cpus),
               "boot%d" % cpus)
    try:
        t_marker, _ = vm.expect(r"BENCH-INIT-MARKER")
        kvm = kvm_counters(vm.pid)
        t_exit, status = vm.wait_exit()
    finally:
        vm.close()
    return {"marker_s": t_marker, "exit_s": t_exit, "status": status,
            "kvm_exits_to_marker": kvm.get("exits"), "kvm_io_exits_to_marker": kvm.get("io_exits"),
            "kvm_mmio_exits_to_marker": kvm.get("mmio_exits")}


def parse_smaps(pid):
    """The mappings of pid: dicts with start, end, name, and the kB fields."""
    maps = []
    head = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$")
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            m = head.match(line)
            if m:
                maps.append({"start": int(m.group(1), 16), "end": int(m.group(2), 16),
                             "name": m.group(3)})
                continue
            parts = line.split()
            if maps and len(parts) == 3 and parts[2] == "kB":
                maps[-1][parts[0].rstrip(":")] = int(parts[1])
    return maps


def memory_overhead(pid, ram_bytes):
    """Private dirty memory of pid outside its guest RAM, in KiB.

    The guest RAM is the one anonymous mapping at least as large as the
    guest's memory and at most 16 MiB larger (a VMM may round it up or add a
    guard page); every other mapping counts: heap, stacks, the VMM's own
    data, device buffers, firmware and kernel copies it keeps."""
    maps = parse_smaps(pid)
    ram = [m for m in maps
           if ram_bytes <= m["end"] - m["start"] <= ram_bytes + (16 << 20)
           and (m["name"] == "" or m["name"].startswith("[anon") or "memfd:" in m["name"])]
    if len(ram) != 1:
        raise BenchError("pid %d: %d mappings look like the guest RAM" % (pid, len(ram)))
    total = sum(m.get("Private_Dirty", 0) for m in maps)
    rss = sum(m.get("Rss", 0) for m in maps)
    ram_dirty = ram[0].get("Private_Dirty", 0)
    top = sorted((m for m in maps if m is not ram[0] and m.get("Private_Dirty")),
                 key=lambda m: -m["Private_Dirty"])[:6]
    return {"overhead_kib": total - ram_dirty, "private_dirty_kib": total,
            "guest_ram_dirty_kib": ram_dirty, "rss_kib": rss,
            "guest_ram_mapping": "%x-%x" % (ram[0]["start"], ram[0]["end"]),
            "largest": [{"dirty_kib": m["Private_Dirty"], "size_kib": (m["end"] - m["start"]) >> 10,
                         "name": m["name"] or "[anonymous]",
                         "thp_kib": m.get("AnonHugePages", 0)} for m in top]}


def idle(ctx, runner, settle=0.5):
    """Memory overhead with an idle booted guest (-m 256M)."""
    vm = start(ctx, runner, linux_guest(ctx, "idle", ctx.boot_initrd, mem_mib=256), "idle")
    try:
        t_marker, _ = vm.expect(r"BENCH-INIT-MARKER")
        vm.expect(r"BENCH-IDLE")
        time.sleep(settle)
        out = memory_overhead(vm.pid, 256 << 20)
        vm.p.sendline("")
        t_exit, status = vm.wait_exit()
    finally:
        vm.close()
    out.update({"marker_s": t_marker, "status": status})
    return out


FIO_RE = r"BENCH-FIO (\w+) rkibs=(\d+) riops=([\d.]+) wkibs=(\d+) wiops=([\d.]+)\r*\n"
NET_RE = r"BENCH-NET (\w+) mbps=([\d.]+)\r*\n"


def work(ctx, runner):
    """fio (and iperf3 when ctx.tap) in one boot of the work guest."""
    net = bool(ctx.tap)
    extra = "bench.fio=%d bench.net=%d" % (ctx.fio_secs, ctx.net_secs if net else 0)
    # 512 MiB: the fio and iperf3 libraries make the initramfs 85 MiB, which
    # does not unpack in 256 MiB next to the archive itself.
    g = linux_guest(ctx, "work", ctx.work_initrd, mem_mib=512, extra=extra, net=net)
    server = start_iperf_server(ctx) if net else None
    vm = start(ctx, runner, g, "work")
    out = {}
    try:
        t_marker, _ = vm.expect(r"BENCH-INIT-MARKER")
        out["marker_s"] = t_marker
        vm.expect(r"BENCH-WORK")
        before = kvm_counters(vm.pid)
        while True:
            t, m = vm.expect(r"(%s|%s|BENCH-ERROR[^\r\n]*\r*\n|BENCH-DONE)" % (FIO_RE, NET_RE),
                             timeout=BOOT_TIMEOUT + 10 * (ctx.fio_secs + ctx.net_secs))
            after = kvm_counters(vm.pid)
            text = m.group(1)
            if text.startswith("BENCH-DONE"):
                break
            if text.startswith("BENCH-ERROR"):
                out.setdefault("errors", []).append(text.strip())
                continue
            f = re.match(FIO_RE, text)
            if f:
                name = f.group(1)
                out[name] = {"read_kibs": int(f.group(2)), "read_iops": float(f.group(3)),
                             "write_kibs": int(f.group(4)), "write_iops": float(f.group(5))}
            else:
                n = re.match(NET_RE, text)
                name = n.group(1)
                out["net_" + name] = {"mbps": float(n.group(2))}
            out[name if f else "net_" + name]["kvm"] = counters_delta(before, after)
            before = after
        out["exit_s"], out["status"] = vm.wait_exit()
    finally:
        vm.close()
        if server:
            stop_process(server)
    return out


def start_iperf_server(ctx):
    p = subprocess.Popen(["iperf3", "-s", "-B", ctx.host_ip], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return p


def stop_process(p):
    p.terminate()
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


EXIT_CAL = r"BENCH-EXIT-CAL pit (\d+) tsc 0x([0-9a-f]+)\r*\n"
EXIT_START = r"BENCH-EXIT-START (\w+)\r*\n"
EXIT_END = r"BENCH-EXIT-END (\w+) n (\d+) ticks (\d+) tsc 0x([0-9a-f]+)\r*\n"
PIT_HZ = 1193182  # the 8254's input clock
CAL_ROUNDS = 5  # as in tests/guests/mbc/exitcost.c


def exitcost(ctx, runner):
    """ns per exit: N reads of the PM timer, then of COM1's scratch register.

    The guest times each loop by the TSC, whose rate it measures against the
    PIT first (every runner), and by the PM timer (where there is one); the
    TSC figure is the one reported.  The host's own clock between the
    console lines is kept too, but the console can lag behind the guest."""
    g = runners.Guest(kernel=ctx.exitcost, cmdline=str(ctx.exit_reads), kind="multiboot")
    vm = start(ctx, runner, g, "exitcost")
    out = {}
    try:
        rates = []
        for _ in range(CAL_ROUNDS):
            _, m = vm.expect(EXIT_CAL)
            rates.append(int(m.group(2), 16) * PIT_HZ / max(int(m.group(1)), 1))
        # The median: a calibration during which the vCPU was descheduled
        # for more than a PIT period (55 ms) misses a wrap of the counter.
        tsc_hz = statistics.median(rates)
        if tsc_hz <= 0:
            raise BenchError("exitcost: no TSC rate (%s)" % rates)
        out["tsc_hz"] = tsc_hz
        out["tsc_hz_calibrations"] = rates
        _, m = vm.expect(r"exitcost pmtmr (none|port \d+ bits \d+)\r*\n")
        out["pmtmr"] = m.group(1)
        for loop in (("pmtmr", "com1") if m.group(1) != "none" else ("com1",)):
            t0, m = vm.expect(EXIT_START, timeout=60)
            if m.group(1) != loop:
                raise BenchError("exitcost: %s started, %s expected" % (m.group(1), loop))
            before = kvm_counters(vm.pid)
            t1, m = vm.expect(EXIT_END, timeout=60 + ctx.exit_reads // 100)
            after = kvm_counters(vm.pid)
            n, ticks, tsc = int(m.group(2)), int(m.group(3)), int(m.group(4), 16)
            out[loop] = {"n": n, "ns": tsc * 1e9 / tsc_hz / n,
                         "pm_ns": ticks * 1e9 / PM_TIMER_HZ / n if ticks else None,
                         "host_ns": (t1 - t0) * 1e9 / n,
                         "kvm": counters_delta(before, after)}
        out["exit_s"], out["status"] = vm.wait_exit()
    finally:
        vm.close()
    return out


def net_probe(ctx):
    """Does a guest of this runner get traffic through virtio-net on ctx.tap?
    (True, "") or (False, why)."""
    g = runners.Guest(kernel=ctx.kernel, initrd=ctx.boot_initrd, mem_mib=256, tap=ctx.tap,
                      cmdline="%s bench=ping" % CMDLINE)
    try:
        vm = start(ctx, runners.BHYVE, g, "netprobe")
    except pexpect.ExceptionPexpect as e:
        return False, str(e)
    try:
        _, m = vm.expect(r"BENCH-PING (ok|failed)\r*\n")
        vm.wait_exit()
    except BenchError as e:
        return False, "the network probe guest failed: %s" % e
    finally:
        vm.close()
    if m.group(1) != "ok":
        return False, "a guest of this runner cannot ping the host over virtio-net"
    return True, ""
