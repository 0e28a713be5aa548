"""--kernel boots an uncompressed ELF64 vmlinux (the one scripts/assets
extracts from the cached vmlinuz): its PT_LOAD segments at their physical
addresses, entered at startup_64 with the 64-bit boot protocol's state, with
the initrd and the command line of the bzImage path.  One Linux guest
carries the boot checks; malformed images cost no guest at all."""
import re
import struct
import subprocess

import pytest

from guestlib import assets, bhyve_path

from bhyveguest import CMDLINE, Guest, initrd  # noqa: F401 (fixture)

MARK = "bhyve.vmlinux_test=1"


def vmlinux_path():
    p = assets().vmlinux
    if not p.exists():
        pytest.fail(f"{p} is missing: run `make assets`", pytrace=False)
    return str(p)


def load_segments(path):
    """(p_paddr, p_memsz) of every PT_LOAD segment (gABI ELF64 layout)."""
    with open(path, "rb") as f:
        eh = f.read(64)
        phoff, = struct.unpack_from("<Q", eh, 32)
        phentsize, phnum = struct.unpack_from("<HH", eh, 54)
        f.seek(phoff)
        tab = f.read(phentsize * phnum)
    segs = []
    for i in range(phnum):
        p_type, = struct.unpack_from("<I", tab, i * phentsize)
        paddr, _filesz, memsz = struct.unpack_from("<QQQ", tab, i * phentsize + 24)
        if p_type == 1 and memsz:
            segs.append((paddr, memsz))
    return segs


@pytest.fixture(scope="module")
def guest(initrd):  # noqa: F811 (the fixture imported above)
    g = Guest(initrd, kernel=vmlinux_path(), cmdline=MARK)
    yield g
    g.kill()


def test_cmdline(guest):
    assert guest.sh("cat /proc/cmdline") == CMDLINE + " " + MARK


def test_initrd_used(guest):
    # The shell is the initramfs's /init (BHYVE-GUEST-READY came from it),
    # and the kernel found the RAM disk in boot_params.
    assert guest.sh("[ -x /init ] && [ -f /etc/acpi/PWRF/00000080 ] && echo yes") == "yes"
    dmesg = guest.sh("dmesg")
    assert re.search(r"RAMDISK: \[mem 0x[0-9a-f]+-0x[0-9a-f]+\]", dmesg), dmesg
    assert "Freeing initrd memory" in dmesg


def test_kernel_at_its_physical_address(guest):
    # No decompressor ran, so nothing relocated the kernel: its code is
    # where the first PT_LOAD segment's p_paddr put it.
    first = min(load_segments(vmlinux_path()))[0]
    code = guest.sh("grep 'Kernel code' /proc/iomem")
    m = re.search(r"([0-9a-f]+)-[0-9a-f]+ : Kernel code", code)
    assert m, code
    assert int(m.group(1), 16) == first


def test_poweroff_exits_1(guest):
    guest.p.sendline("poweroff -f")
    assert guest.wait_exit() == 1


def run_bhyve(kernel):
    p = subprocess.run([bhyve_path(), "-s", "31,lpc", "-l", "com1,stdio", "--kernel", kernel,
                        "vm"], stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    return p.returncode, p.stderr.decode(errors="replace")


def elf(machine=62, phnum=1, paddr=0x100000, memsz=0x1000, filesz=0x10, offset=0x1000,
        entry=0x100000, cls=2):
    """A minimal ELF64 executable with one PT_LOAD segment."""
    eh = bytearray(64)
    eh[0:7] = b"\x7fELF" + bytes([cls, 1, 1])
    struct.pack_into("<HHIQQQIHHHHHH", eh, 16, 2, machine, 1, entry, 64, 0, 0, 64, 56,
                     phnum, 64, 0, 0)
    ph = struct.pack("<IIQQQQQQ", 1, 5, offset, 0xffffffff81000000, paddr, filesz, memsz,
                     0x1000) * phnum
    body = bytearray(max(offset + filesz, 64 + len(ph)))
    body[0:64] = eh
    body[64:64 + len(ph)] = ph
    return bytes(body)


@pytest.mark.parametrize("name,image,words", [
    ("machine", elf(machine=3), "machine"),
    ("class", elf(cls=1), "class"),
    ("truncated", elf()[:0x800], "past the end"),
    ("outside-ram", elf(paddr=0x7ff00000), "not in guest RAM"),
    ("zero-page", elf(paddr=0x7000, entry=0x7000), "zero page"),
    ("overlap", elf(phnum=2), "overlap"),
    ("absurd", elf(phnum=5000)[:64], "program headers"),
])
def test_malformed_exits_4(tmp_path, name, image, words):
    path = tmp_path / name
    path.write_bytes(image)
    rc, err = run_bhyve(str(path))
    assert rc == 4, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "--kernel" in lines[0] and str(path) in lines[0] and words in lines[0], err
