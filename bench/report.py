"""From the raw runs to the figures: medians, min-max, ratios, targets, and
BENCHMARKS.md / BENCHMARKS.json."""
import json
import statistics

import runners

# key: (group of runs, title, unit, "lower"/"higher" is better, value of one run)
FIGURES = [
    ("boot_init", "boot1", "boot: exec to the init's marker (1 vCPU)", "s", "lower",
     lambda r: r["marker_s"]),
    ("boot_exit", "boot1", "boot: exec to the VMM's exit after power-off (1 vCPU)", "s",
     "lower", lambda r: r["exit_s"]),
    ("smp2_init", "boot2", "SMP: exec to the init's marker, 2 vCPUs", "s", "lower",
     lambda r: r["marker_s"]),
    ("smp2_exit", "boot2", "SMP: exec to the VMM's exit, 2 vCPUs", "s", "lower",
     lambda r: r["exit_s"]),
    ("smp4_init", "boot4", "SMP: exec to the init's marker, 4 vCPUs", "s", "lower",
     lambda r: r["marker_s"]),
    ("smp4_exit", "boot4", "SMP: exec to the VMM's exit, 4 vCPUs", "s", "lower",
     lambda r: r["exit_s"]),
    ("mem_overhead", "idle", "memory: VMM private dirty outside guest RAM (idle, -m 256M)",
     "MiB", "lower", lambda r: r["overhead_kib"] / 1024),
    ("blk_randread_iops", "work", "virtio-blk: fio 4 KiB random read, QD 32", "IOPS",
     "higher", lambda r: r["randread"]["read_iops"]),
    ("blk_seqread_mbs", "work", "virtio-blk: fio 1 MiB sequential read", "MB/s", "higher",
     lambda r: r["seqread"]["read_kibs"] * 1024 / 1e6),
    ("blk_seqwrite_mbs", "work", "virtio-blk: fio 1 MiB sequential write", "MB/s", "higher",
     lambda r: r["seqwrite"]["write_kibs"] * 1024 / 1e6),
    ("net_tx_mbps", "work", "virtio-net: iperf3 TCP guest to host", "Mbit/s", "higher",
     lambda r: r["net_tx"]["mbps"]),
    ("net_rx_mbps", "work", "virtio-net: iperf3 TCP host to guest", "Mbit/s", "higher",
     lambda r: r["net_rx"]["mbps"]),
    ("exit_pmtmr_ns", "exitcost", "exit cost: ACPI PM timer read (ring 0)", "ns/exit",
     "lower", lambda r: r["pmtmr"]["ns"]),
    ("exit_com1_ns", "exitcost", "exit cost: COM1 scratch register read (ring 0)", "ns/exit",
     "lower", lambda r: r["com1"]["ns"]),
]

# The targets: (figure, compared with, test on the median ratio or
# on the absolute median, limit, wording).
TARGETS = [
    ("boot_init", runners.MICROVM, "ratio", "<=", 0.7, "boot to init <= 0.7 x QEMU microvm"),
    ("mem_overhead", None, "value", "<", 1.0, "memory overhead < 1 MiB"),
    ("blk_randread_iops", runners.MICROVM, "ratio", ">=", 1.0, "blk 4 KiB IOPS >= 1.0 x microvm"),
    ("blk_seqread_mbs", runners.MICROVM, "ratio", ">=", 1.0, "blk seq read >= 1.0 x microvm"),
    ("blk_seqwrite_mbs", runners.MICROVM, "ratio", ">=", 1.0, "blk seq write >= 1.0 x microvm"),
    ("net_tx_mbps", runners.MICROVM, "ratio", ">=", 1.0, "net guest->host >= 1.0 x microvm"),
    ("net_rx_mbps", runners.MICROVM, "ratio", ">=", 1.0, "net host->guest >= 1.0 x microvm"),
    ("exit_com1_ns", runners.MICROVM, "ratio", "<=", 1.0,
     "exit cost <= 1.0 x microvm (COM1: microvm has no PM timer)"),
    ("exit_pmtmr_ns", runners.PC, "ratio", "<=", 1.0, "exit cost (PM timer) <= 1.0 x pc"),
]


def _value(fn, result):
    try:
        v = fn(result)
    except (KeyError, TypeError):
        return None
    return float(v) if v is not None else None


def summarize(raw):
    """raw: {"runs": [{"group", "runner", "round", "result" or "error"}]}."""
    figs = {}
    for key, group, title, unit, better, fn in FIGURES:
        per = {}
        for r in raw["runs"]:
            if r["group"] != group or "result" not in r:
                continue
            v = _value(fn, r["result"])
            if v is not None:
                per.setdefault(r["runner"], []).append(v)
        if not per:
            continue
        fig = {"title": title, "unit": unit, "better": better, "runners": {}, "ratio": {}}
        for name, vals in per.items():
            fig["runners"][name] = {"runs": vals, "median": statistics.median(vals),
                                    "min": min(vals), "max": max(vals)}
        mine = fig["runners"].get(runners.BHYVE)
        for other in (runners.MICROVM, runners.PC):
            theirs = fig["runners"].get(other)
            if mine and theirs and theirs["median"]:
                fig["ratio"][other] = mine["median"] / theirs["median"]
        figs[key] = fig
    return figs


def check_targets(figs):
    out = []
    for key, other, kind, op, limit, text in TARGETS:
        fig = figs.get(key)
        if kind == "ratio":
            v = fig["ratio"].get(other) if fig else None
        else:
            v = fig["runners"].get(runners.BHYVE, {}).get("median") if fig else None
        met = None
        if v is not None:
            met = {"<=": v <= limit, "<": v < limit, ">=": v >= limit}[op]
        out.append({"figure": key, "target": text, "value": v, "met": met})
    return out


def _fmt(v):
    if v is None:
        return "n/a"
    a = abs(v)
    if a >= 1000:
        return "%.0f" % v
    if a >= 100:
        return "%.1f" % v
    if a >= 10:
        return "%.2f" % v
    return "%.3f" % v


def _cell(fig, name):
    s = fig["runners"].get(name)
    if not s:
        return "n/a"
    return "%s (%s–%s)" % (_fmt(s["median"]), _fmt(s["min"]), _fmt(s["max"]))


def table(figs):
    lines = ["| figure | unit | better | this runner | QEMU microvm | QEMU pc | "
             "this/microvm | this/pc |",
             "|---|---|---|---|---|---|---|---|"]
    for key, *_ in FIGURES:
        fig = figs.get(key)
        if not fig:
            continue
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            fig["title"], fig["unit"], fig["better"], _cell(fig, runners.BHYVE),
            _cell(fig, runners.MICROVM), _cell(fig, runners.PC),
            _fmt(fig["ratio"].get(runners.MICROVM)), _fmt(fig["ratio"].get(runners.PC))))
    return "\n".join(lines)


def targets_table(targets):
    lines = ["| target | value | met |", "|---|---|---|"]
    for t in targets:
        met = {True: "yes", False: "**no**", None: "not measured"}[t["met"]]
        lines.append("| %s | %s | %s |" % (t["target"], _fmt(t["value"]), met))
    return "\n".join(lines)


def exit_counts(raw):
    """Median KVM exits per figure and runner, from debugfs deltas."""
    out = {}
    for r in raw["runs"]:
        res = r.get("result")
        if not res:
            continue
        items = []
        if r["group"] == "boot1" and res.get("kvm_exits_to_marker") is not None:
            items.append(("boot to marker", res["kvm_exits_to_marker"],
                          (res.get("kvm_io_exits_to_marker") or 0) +
                          (res.get("kvm_mmio_exits_to_marker") or 0)))
        if r["group"] == "work":
            for job in ("randread", "seqread", "seqwrite", "net_tx", "net_rx"):
                k = res.get(job, {}).get("kvm", {})
                if "exits" in k:
                    items.append((job, k["exits"], k.get("io_exits", 0) + k.get("mmio_exits", 0)))
        for name, exits, io in items:
            d = out.setdefault(name, {}).setdefault(r["runner"], {"exits": [], "io": []})
            d["exits"].append(exits)
            if io is not None:
                d["io"].append(io)
    return out


def exits_table(counts):
    lines = ["| phase | this runner: exits (I/O+MMIO) | QEMU microvm | QEMU pc |",
             "|---|---|---|---|"]
    for phase, per in counts.items():
        cells = []
        for name in runners.ALL:
            d = per.get(name)
            if not d or not d["exits"]:
                cells.append("n/a")
                continue
            c = "%d" % statistics.median(d["exits"])
            if d["io"]:
                c += " (%d)" % statistics.median(d["io"])
            cells.append(c)
        lines.append("| %s | %s |" % (phase, " | ".join(cells)))
    return "\n".join(lines)


def memory_text(raw):
    """The largest private dirty mappings besides guest RAM, from each
    runner's last idle run."""
    last = {}
    for r in raw["runs"]:
        if r["group"] == "idle" and r.get("result", {}).get("largest"):
            last[r["runner"]] = r["result"]
    lines = []
    for name in runners.ALL:
        res = last.get(name)
        if not res:
            continue
        parts = ["%d KiB in %s (%d KiB%s)" % (
            m["dirty_kib"], m["name"], m["size_kib"],
            ", %d KiB of it a transparent huge page" % m["thp_kib"] if m["thp_kib"] else "")
            for m in res["largest"]]
        lines.append("- %s, %d KiB in all: %s" % (name, res["overhead_kib"], "; ".join(parts)))
    return "\n".join(lines) or "No idle run."


def write_json(path, raw, figs, targets):
    doc = {"meta": raw.get("meta", {}), "config": raw.get("config", {}), "figures": figs,
           "targets": targets, "exit_counts": exit_counts(raw),
           "errors": [r for r in raw["runs"] if "error" in r], "runs": raw["runs"]}
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")


def machine_text(meta):
    mem = meta.get("mem_total_kib")
    return "\n".join([
        "- host: %s, %s CPUs, Linux %s" % (meta.get("host_cpu", "?"), meta.get("host_cpus", "?"),
                                           meta.get("host_kernel", "?")),
        "- where the VMs ran: %s; %s%s (as the guest sees it), %s vCPU%s, %s MiB, Linux %s" % (
            "the nested test bed of scripts/kvm-run (QEMU TCG emulating AMD-V, kvm-amd "
            "inside)" if meta.get("in_test_bed") else "directly on the host's KVM",
            meta.get("cpu", "?"),
            ", family %#x" % meta["cpu_family"] if "cpu_family" in meta else "",
            meta.get("cpus", "?"), "" if meta.get("cpus") == 1 else "s", (mem or 0) // 1024,
            meta.get("kernel", "?")),
        "- QEMU compared: %s" % meta.get("qemu", "?"),
        "- date: %s; the measurements took %.0f min" % (
            meta.get("date", "?"), meta.get("measure_seconds", 0) / 60),
    ])


def config_text(raw):
    c = raw.get("config", {})
    lines = ["- runs: %s per figure and runner, alternating (each round runs every group of "
             "figures for the three runners in turn, the order rotated each round)" %
             c.get("runs"),
             "- exit-cost loops: %s reads each; fio: %s s per job (after 1 s ramp); "
             "iperf3: %s s per direction; disk image: %s MiB on tmpfs" % (
                 c.get("exit_reads"), c.get("fio_secs"), c.get("net_secs"), c.get("disk_mib")),
             "- network: %s" % c.get("net", "not measured")]
    for name, argv in sorted(c.get("argv", {}).items()):
        lines.append("- %s: `%s`" % (name, " ".join(argv)))
    return "\n".join(lines)


def errors_text(raw):
    errs = [r for r in raw["runs"] if "error" in r]
    errs += [dict(r, error="; ".join(r["result"]["errors"])) for r in raw["runs"]
             if r.get("result", {}).get("errors")]
    lines = ["- round %d, %s, %s: %s" % (r["round"], r["group"], r["runner"], r["error"])
             for r in errs]
    c = raw.get("config", {})
    if not c.get("smoke") and c.get("runs"):
        done = {}
        for r in raw["runs"]:
            done[(r["group"], r["runner"])] = done.get((r["group"], r["runner"]), 0) + 1
        for (g, name), n in sorted(done.items()):
            if n < c["runs"]:
                lines.append("- %s, %s: %d of %d runs (the measurement ended early)" %
                             (g, name, n, c["runs"]))
    if raw.get("meta", {}).get("note"):
        lines.append("- " + raw["meta"]["note"])
    return "\n".join(lines) or "None: every run produced its numbers."


def markdown(raw, figs, targets, template):
    subst = {"@TABLE@": table(figs), "@TARGETS@": targets_table(targets),
             "@EXITS@": exits_table(exit_counts(raw)), "@MACHINE@": machine_text(raw["meta"]),
             "@CONFIG@": config_text(raw), "@ERRORS@": errors_text(raw),
             "@MEMORY@": memory_text(raw)}
    text = template
    for k, v in subst.items():
        text = text.replace(k, v)
    return text
