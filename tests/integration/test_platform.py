"""The PC platform a guest OS expects (issue 4): ACPI tables, SMBIOS, power
management and exit statuses, checked from inside a Linux guest."""
import os
import re
import signal
import time

import pytest

from bhyveguest import Guest, initrd  # noqa: F401 (fixtures)

UUID = "5b7c0a6e-3f1d-4e2a-9c8b-0123456789ab"
FIRMWARE_COMPLAINTS = re.compile(
    r"ACPI Error|ACPI BIOS Error|\[Firmware Bug\]|MP-BIOS bug|pci.*BAR.*failed",
    re.IGNORECASE)


# One guest carries every check (a Linux boot costs seconds in the test bed):
# two vCPUs, a given UUID, a PCI 16550 and a second host bridge.

@pytest.fixture(scope="module")
def plat(initrd, tmp_path_factory):
    log = tmp_path_factory.mktemp("plat") / "pci-uart.log"
    # 8250.nr_uarts: room for a PCI serial port after the four ISA ones.
    g = Guest(initrd, cpus="2", args=["-U", UUID, "-s", "3,uart,%s" % log,
                                      "-s", "5,amd_hostbridge"],
              cmdline="8250.nr_uarts=8")
    g.uart_log = log
    yield g
    g.kill()


def test_acpi_smbios_and_clean_dmesg(plat):
    tables = plat.sh("ls /sys/firmware/acpi/tables").split()
    for t in ["APIC", "DSDT", "FACP", "FACS", "MCFG"]:
        assert t in tables, tables
    assert plat.sh("cat /sys/class/dmi/id/product_uuid") == UUID
    assert plat.sh("cat /sys/class/dmi/id/product_name") == "BHYVE"
    dmesg = plat.sh("dmesg")
    bad = [l for l in dmesg.splitlines() if FIRMWARE_COMPLAINTS.search(l)]
    assert not bad, "\n".join(bad)
    assert "ACPI: Interpreter enabled" in dmesg


def read_sys(g, dev, attr):
    return g.sh("cat /sys/bus/pci/devices/%s/%s" % (dev, attr))


def test_pci_devices_and_pci_uart(plat):
    g = plat
    devs = g.sh("ls /sys/bus/pci/devices").split()
    assert sorted(devs) == ["0000:00:00.0", "0000:00:03.0", "0000:00:05.0",
                            "0000:00:1f.0"], devs
    ids = {d: (read_sys(g, d, "vendor"), read_sys(g, d, "device")) for d in devs}
    assert ids["0000:00:00.0"] == ("0x1275", "0x1275")
    assert ids["0000:00:05.0"] == ("0x1022", "0x7432")
    assert ids["0000:00:1f.0"] == ("0x8086", "0x7000")
    assert ids["0000:00:03.0"] == ("0x131f", "0x2000")
    # The PCI 16550 is a working serial port: text written there reaches
    # its back end, interrupt-driven through INTx.
    tty = g.sh("ls /sys/bus/pci/devices/0000:00:03.0/tty")
    assert tty.startswith("ttyS"), tty
    g.sh("echo hello-over-pci-uart > /dev/%s" % tty)
    log = g.uart_log
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and b"hello-over-pci-uart" not in log.read_bytes():
        time.sleep(0.2)
    assert b"hello-over-pci-uart" in log.read_bytes()
    assert int(g.sh("grep -c ttyS /proc/interrupts || true")) >= 1


def test_sigterm_is_the_power_button(plat):
    # Last: the guest shuts down.
    t0 = time.monotonic()
    os.kill(plat.p.pid, signal.SIGTERM)
    plat.p.expect_exact("power button: shutting down", timeout=60)
    assert plat.wait_exit(timeout=60) == 1
    assert time.monotonic() - t0 < 60
