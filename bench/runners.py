"""The three runners compared by `make bench`, as command lines.

Each runner gets the same guest the same way: the same kernel, initramfs and
command line, the same memory and vCPUs, COM1 (a 16550 at 0x3F8) on stdio as
the console, one virtio-blk disk on the same raw image (host page cache, no
O_DIRECT, so tmpfs works), and a virtio-net card on a tap when the network
figure runs.  QEMU runs with -nodefaults (no VGA, no NIC, no default
devices): microvm with virtio-mmio devices and its CMOS RTC on, pc with
virtio-pci devices.

HLT: with no more vCPUs than the host has CPUs, this runner leaves HLT to
the guest (its default: KVM_CAP_X86_DISABLE_EXITS, the vCPU spins in the
guest) and QEMU gets the same with -overcommit cpu-pm=on; with more vCPUs
than host CPUs, this runner takes -H and QEMU keeps its default (every HLT
exits and the vCPU thread sleeps in KVM), so that idle vCPUs do not starve
the busy ones.
"""
import dataclasses
import os

QEMU = "/usr/bin/qemu-system-x86_64"

# Names, in the order of the tables.
BHYVE = "bhyve"
MICROVM = "qemu-microvm"
PC = "qemu-pc"
ALL = (BHYVE, MICROVM, PC)


@dataclasses.dataclass
class Guest:
    """What to boot.  kind: "linux" (bzImage + initramfs) or "multiboot"."""

    kernel: str
    cmdline: str
    initrd: str = None
    kind: str = "linux"
    cpus: int = 1
    mem_mib: int = 256
    disk: str = None
    tap: str = None
    mac: str = "52:54:00:12:34:56"


def host_cpus():
    return os.cpu_count() or 1


def spin_hlt(guest):
    """True when HLT stays in the guest (see the module's comment)."""
    return guest.cpus <= host_cpus()


def bhyve_argv(binary, g):
    a = [binary, "-c", str(g.cpus), "-m", "%dM" % g.mem_mib]
    if not spin_hlt(g):
        a.append("-H")
    a += ["-s", "0,hostbridge"]
    if g.disk:
        a += ["-s", "2,virtio-blk,%s" % g.disk]
    if g.tap:
        a += ["-s", "3,virtio-net,%s,mac=%s" % (g.tap, g.mac)]
    a += ["-s", "31,lpc", "-l", "com1,stdio", "--kernel", g.kernel]
    if g.initrd:
        a += ["--initrd", g.initrd]
    a += ["--cmdline", g.cmdline, "benchvm"]
    return a


def qemu_argv(machine, g):
    """machine: "microvm" or "pc"."""
    bus = "device" if machine == "microvm" else "pci"
    # microvm's default (rtc=auto) has no CMOS RTC with ACPI on, and the
    # Debian kernel's rtc_cmos then probes the missing chip for seconds of
    # its boot (6 s in the test bed): the RTC is on, as it is here and in pc.
    model = "microvm,rtc=on" if machine == "microvm" else machine
    a = [QEMU, "-enable-kvm", "-cpu", "host", "-M", model, "-m", "%dM" % g.mem_mib,
         "-smp", str(g.cpus), "-nodefaults", "-no-user-config", "-display", "none",
         "-serial", "stdio", "-no-reboot"]
    if spin_hlt(g):
        a += ["-overcommit", "cpu-pm=on"]
    a += ["-kernel", g.kernel, "-append", g.cmdline]
    if g.initrd:
        a += ["-initrd", g.initrd]
    if g.disk:
        a += ["-drive", "id=d0,file=%s,format=raw,if=none" % g.disk,
              "-device", "virtio-blk-%s,drive=d0" % bus]
    if g.tap:
        # vhost=off: the packets go through QEMU's own user-space device
        # model, as they go through this runner's.
        a += ["-netdev", "tap,id=n0,ifname=%s,script=no,downscript=no,vhost=off" % g.tap,
              "-device", "virtio-net-%s,netdev=n0,mac=%s" % (bus, g.mac)]
    return a


def argv(runner, bhyve_binary, guest):
    if runner == BHYVE:
        return bhyve_argv(bhyve_binary, guest)
    if runner == MICROVM:
        return qemu_argv("microvm", guest)
    if runner == PC:
        return qemu_argv("pc", guest)
    raise ValueError("unknown runner %r" % runner)
