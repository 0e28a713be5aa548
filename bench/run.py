#!/usr/bin/env python3
"""make bench / make bench-smoke: this runner next to QEMU (microvm and pc)
on the same KVM, in the same run, alternating (see bench/README).

On the host this builds the benchmark guests (images.py), runs itself again
with --inside under scripts/kvm-run (the test bed, or directly where
/dev/kvm is real and fast), and writes the report from what came back:
  make bench         BENCHMARKS.md and BENCHMARKS.json at the top of the tree
  make bench-smoke   one run of a few figures; checks only that numbers came
                     out (build/bench/smoke/), for make check
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import re
import shutil
import subprocess
import sys
import time
import traceback

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = ROOT / "build" / "bench"
sys.path.insert(0, str(HERE))

import runners  # noqa: E402

# The groups of runs, in the order each round does them.
GROUPS = ("boot1", "boot2", "boot4", "idle", "work", "exitcost")
# bench-smoke: at most three Linux boots and three sub-second guests.
SMOKE = (("exitcost", runners.ALL), ("idle", (runners.BHYVE, runners.MICROVM)),
         ("work", (runners.BHYVE,)))

TAP = "bnt0"
HOST_IP = "10.0.77.1"
GUEST_IP = "10.0.77.2"


def log(msg):
    print("bench: %s" % msg, flush=True)


# ---- inside: where /dev/kvm works ------------------------------------------

class Context:
    """Everything a measurement needs (see figures.py)."""

    def __init__(self, args, paths):
        self.bhyve = args.bhyve
        self.kernel = paths["kernel"]
        self.boot_initrd = paths["boot_initrd"]
        self.work_initrd = paths.get("work_initrd")
        self.exitcost = paths["exitcost"]
        self.exit_reads = args.exit_reads
        self.fio_secs = args.fio_secs
        self.net_secs = args.net_secs
        self.disk = None
        self.tap = None
        self.host_ip = HOST_IP
        self.logdir = args.logs or str(OUT / "logs")
        self.seq = 0


def make_disk(size_mib):
    """A raw image on tmpfs, every block written (no holes to read)."""
    for d in ("/dev/shm", "/run"):
        if os.path.isdir(d) and os.access(d, os.W_OK):
            path = os.path.join(d, "bench-disk.img")
            break
    else:
        raise RuntimeError("no writable tmpfs for the disk image")
    chunk = (bytes(range(256)) * 4096)  # 1 MiB, not all zeros
    with open(path, "wb") as f:
        for _ in range(size_mib):
            f.write(chunk)
    return path


def bhyve_has_virtio_net(binary):
    out = subprocess.run([binary, "-s", "help"], capture_output=True, text=True, timeout=30)
    return "virtio-net" in out.stdout.split()


def make_tap():
    """The host end of the guest's network: tap TAP with HOST_IP/24."""
    subprocess.run(["ip", "link", "del", TAP], capture_output=True, timeout=30)
    for cmd in (["ip", "tuntap", "add", "dev", TAP, "mode", "tap"],
                ["ip", "addr", "add", HOST_IP + "/24", "dev", TAP],
                ["ip", "link", "set", TAP, "up"]):
        subprocess.run(cmd, check=True, capture_output=True, timeout=30)
    return TAP


def net_usable(ctx):
    """The network figure runs only when this runner has virtio-net and a
    guest gets traffic through it (checked once, with a ping)."""
    if not bhyve_has_virtio_net(ctx.bhyve):
        return False, "this runner has no virtio-net (-s help)"
    if not shutil.which("iperf3"):
        return False, "no iperf3 on the host"
    try:
        ctx.tap = make_tap()
    except (subprocess.CalledProcessError, OSError) as e:
        return False, "cannot create tap %s: %s" % (TAP, e)
    ok, why = figures_net_probe(ctx)
    if not ok:
        ctx.tap = None
    return ok, why


def figures_net_probe(ctx):
    import figures
    return figures.net_probe(ctx)


def machine_inside():
    meta = {}
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
            m = re.search(r"^model name\s*:\s*(.*)$", info, re.M)
            meta["cpu"] = m.group(1) if m else "?"
            m = re.search(r"^cpu family\s*:\s*(\d+)$", info, re.M)
            if m:
                meta["cpu_family"] = int(m.group(1))
        with open("/proc/meminfo") as f:
            meta["mem_total_kib"] = int(f.readline().split()[1])
    except OSError:
        pass
    meta["kernel"] = platform.release()
    meta["cpus"] = os.cpu_count()
    meta["in_test_bed"] = os.environ.get("KVM_RUN_INSIDE") == "1"
    q = subprocess.run([runners.QEMU, "--version"], capture_output=True, text=True, timeout=30)
    meta["qemu"] = q.stdout.splitlines()[0] if q.stdout else "?"
    return meta


def plan(args):
    """[(round, group, runner)]: every group, each runner in turn, the order
    of the runners rotated each round (A B C, B C A, ...)."""
    if args.smoke:
        return [(0, g, r) for g, rs in SMOKE for r in rs]
    groups = args.only.split(",") if args.only else GROUPS
    out = []
    for rnd in range(args.runs):
        order = runners.ALL[rnd % 3:] + runners.ALL[:rnd % 3]
        for g in groups:
            for r in order:
                out.append((rnd, g, r))
    return out


def run_one(ctx, group, runner):
    import figures
    if group.startswith("boot"):
        return figures.boot(ctx, runner, cpus=int(group[4:]))
    if group == "idle":
        return figures.idle(ctx, runner)
    if group == "work":
        return figures.work(ctx, runner)
    if group == "exitcost":
        return figures.exitcost(ctx, runner)
    raise ValueError(group)


def inside(args):
    import figures
    paths = json.loads(pathlib.Path(args.paths).read_text())
    ctx = Context(args, paths)
    shutil.rmtree(ctx.logdir, ignore_errors=True)
    os.makedirs(ctx.logdir)
    figures.mount_debugfs()
    todo = plan(args)
    raw = {"meta": machine_inside(), "config": {}, "runs": []}
    if any(g == "work" for _, g, _ in todo):
        ctx.disk = make_disk(args.disk_mib)
        if args.net_secs:
            ok, why = net_usable(ctx)
            raw["config"]["net"] = "measured" if ok else "not measured: " + why
            log("network: %s" % raw["config"]["net"])
    raw["config"].update({
        "runs": 1 if args.smoke else args.runs, "exit_reads": args.exit_reads,
        "fio_secs": args.fio_secs, "net_secs": args.net_secs, "disk_mib": args.disk_mib,
        "smoke": args.smoke,
        "argv": {r: runners.argv(r, "bhyve", runners.Guest(
            kernel="KERNEL", initrd="INITRD", cmdline="CMDLINE", disk="DISK",
            tap=TAP if ctx.tap else None)) for r in runners.ALL}})
    start = time.monotonic()
    for i, (rnd, group, runner) in enumerate(todo):
        rec = {"round": rnd, "group": group, "runner": runner}
        t = time.monotonic()
        try:
            rec["result"] = run_one(ctx, group, runner)
        except Exception as e:  # one failed run must not lose the others
            rec["error"] = "%s: %s" % (type(e).__name__, e)
            traceback.print_exc()
        log("%d/%d round %d %-8s %-12s %5.1f s %s" % (
            i + 1, len(todo), rnd, group, runner, time.monotonic() - t,
            "ERROR " + rec["error"] if "error" in rec else brief(rec["result"])))
        raw["runs"].append(rec)
        # Written after each run: an interrupted bench still leaves data.
        pathlib.Path(args.raw).write_text(json.dumps(raw, indent=1))
    raw["meta"]["measure_seconds"] = time.monotonic() - start
    pathlib.Path(args.raw).write_text(json.dumps(raw, indent=1))
    if ctx.tap:
        subprocess.run(["ip", "link", "del", TAP], capture_output=True, timeout=30)
    if ctx.disk:
        os.unlink(ctx.disk)
    return 0


def brief(res):
    keys = ("marker_s", "exit_s", "overhead_kib")
    parts = ["%s=%.2f" % (k, res[k]) for k in keys if isinstance(res.get(k), (int, float))]
    for job in ("randread", "seqread", "seqwrite"):
        if job in res:
            parts.append("%s=%d/%dKiB/s" % (job, res[job]["read_iops"] + res[job]["write_iops"],
                                          res[job]["read_kibs"] + res[job]["write_kibs"]))
    for n in ("net_tx", "net_rx"):
        if n in res:
            parts.append("%s=%.0fMbit/s" % (n, res[n]["mbps"]))
    for loop in ("pmtmr", "com1"):
        if isinstance(res.get(loop), dict):
            r = res[loop]
            parts.append("%s=%.0fns(pm %s, host %.0f)" % (
                loop, r["ns"], "%.0f" % r["pm_ns"] if r["pm_ns"] else "-", r["host_ns"]))
    if res.get("errors"):
        parts.append("errors=%s" % res["errors"])
    return " ".join(parts)


# ---- outside: the host ------------------------------------------------------

def machine_outside():
    meta = {"host_kernel": platform.release(), "host_cpus": os.cpu_count(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
            meta["host_cpu"] = m.group(1) if m else "?"
    except OSError:
        pass
    return meta


def outside(args):
    import images
    if args.report_only:
        raw = json.loads((OUT / "raw.json").read_text())
        for k, v in machine_outside().items():
            raw["meta"].setdefault(k, v)
        return write_report(args, raw)
    paths = images.prepare(work=True)
    # A run of its own (make check's smoke may run beside a make bench), and
    # a copy of the runner: a make elsewhere may relink build/bhyve while a
    # guest runs it (the bed sees the file over 9p, with no ETXTBSY).
    work = OUT / ("smoke" if args.smoke else "run")
    work.mkdir(parents=True, exist_ok=True)
    binary = work / "bhyve"
    shutil.copy2(args.bhyve, binary)
    args.bhyve = str(binary)
    pfile = work / "paths.json"
    pfile.write_text(json.dumps(paths))
    raw_path = work / "raw.json" if args.smoke else OUT / "raw.json"
    if raw_path.exists():
        raw_path.unlink()
    cmd = [str(ROOT / "scripts" / "kvm-run"), "--cpus", str(args.bed_cpus), "--mem", "4G",
           "--timeout", str(args.timeout), "--", "/usr/bin/python3", str(HERE / "run.py"),
           "--inside", "--paths", str(pfile), "--raw", str(raw_path), "--bhyve", args.bhyve,
           "--runs", str(args.runs), "--exit-reads", str(args.exit_reads),
           "--fio-secs", str(args.fio_secs), "--net-secs", str(args.net_secs),
           "--disk-mib", str(args.disk_mib), "--logs", str(work / "logs")]
    if args.smoke:
        cmd.append("--smoke")
    if args.only:
        cmd += ["--only", args.only]
    log("measuring in the test bed: %s" % " ".join(cmd))
    rc = subprocess.run(cmd, cwd=str(ROOT)).returncode
    if not raw_path.exists():
        log("no results (kvm-run exited %d)" % rc)
        return rc or 1
    raw = json.loads(raw_path.read_text())
    raw["meta"].update(machine_outside())
    raw["meta"]["command"] = "make bench" if not args.smoke else "make bench-smoke"
    raw_path.write_text(json.dumps(raw, indent=1))
    return write_report(args, raw, rc)


def write_report(args, raw, rc=0):
    import report
    figs = report.summarize(raw)
    targets = report.check_targets(figs)
    if args.smoke:
        return smoke_verdict(raw, figs, rc)
    report.write_json(str(ROOT / "BENCHMARKS.json"), raw, figs, targets)
    template = (HERE / "BENCHMARKS.md.in").read_text()
    (ROOT / "BENCHMARKS.md").write_text(report.markdown(raw, figs, targets, template))
    log("wrote BENCHMARKS.md and BENCHMARKS.json")
    print(report.table(figs))
    return rc


def smoke_verdict(raw, figs, rc):
    """Passes when every smoke run produced its numbers."""
    want = {"exitcost": ("exit_com1_ns",), "idle": ("mem_overhead",),
            "work": ("blk_randread_iops", "blk_seqread_mbs", "blk_seqwrite_mbs")}
    passed = failed = 0
    for group, names in SMOKE:
        for r in names:
            for key in want[group]:
                fig = figs.get(key, {}).get("runners", {}).get(r)
                ok = bool(fig) and fig["median"] > 0
                if ok:
                    passed += 1
                else:
                    failed += 1
                    log("smoke: no %s for %s" % (key, r))
    for rec in raw["runs"]:
        if "error" in rec:
            log("smoke: %s %s: %s" % (rec["group"], rec["runner"], rec["error"]))
    (OUT / "smoke" / "figures.json").write_text(json.dumps({"figures": figs}, indent=1))
    print("bench-smoke: %d passed, %d failed" % (passed, failed))
    return 1 if failed or rc else 0


def on_real_kvm(args):
    """True when the guests run on a real, fast KVM rather than in the bed."""
    if args.report_only:
        return False
    if args.inside:
        return os.environ.get("KVM_RUN_INSIDE") != "1"
    check = subprocess.run([str(ROOT / "scripts" / "kvm-run"), "--check"],
                           capture_output=True, timeout=60)
    return check.returncode == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="runs of each figure per runner")
    ap.add_argument("--smoke", action="store_true", help="one run of a few figures")
    ap.add_argument("--only", help="comma-separated groups: " + ",".join(GROUPS))
    ap.add_argument("--exit-reads", type=int, default=None,
                    help="port reads per exit-cost loop (default 1000000 on real KVM, "
                         "20000 in the test bed, 2000 for the smoke)")
    ap.add_argument("--fio-secs", type=int, default=None,
                    help="seconds per fio job (default 5 on real KVM, 3 in the test bed, "
                         "1 for the smoke)")
    ap.add_argument("--net-secs", type=int, default=None,
                    help="seconds per iperf3 direction (default 10 on real KVM, 3 in the "
                         "test bed, 0 (none) for the smoke)")
    ap.add_argument("--disk-mib", type=int, default=256, help="size of the disk image")
    ap.add_argument("--bed-cpus", type=int, default=1,
                    help="vCPUs of the test bed (default 1, as make check's integration "
                         "tests: the 2-vCPU bed has hung and crashed, the 1-vCPU bed has not)")
    ap.add_argument("--timeout", type=int, default=None,
                    help="for the whole measurement (default 3600 s, 900 for the smoke)")
    ap.add_argument("--bhyve", default=str(ROOT / "build" / "bhyve"))
    ap.add_argument("--report-only", action="store_true",
                    help="write BENCHMARKS.md/.json again from build/bench/raw.json")
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--paths", help=argparse.SUPPRESS)
    ap.add_argument("--raw", help=argparse.SUPPRESS)
    ap.add_argument("--logs", help=argparse.SUPPRESS)
    args = ap.parse_args()
    real_kvm = on_real_kvm(args)
    if args.timeout is None:
        args.timeout = 900 if args.smoke else 3600
    if args.exit_reads is None:
        args.exit_reads = 2000 if args.smoke else (1000000 if real_kvm else 20000)
    # Shorter in the test bed, where a round of every figure takes minutes.
    if args.fio_secs is None:
        args.fio_secs = 1 if args.smoke else (5 if real_kvm else 3)
    if args.net_secs is None:
        args.net_secs = 0 if args.smoke else (10 if real_kvm else 3)
    if args.inside:
        return inside(args)
    return outside(args)


if __name__ == "__main__":
    sys.exit(main())
