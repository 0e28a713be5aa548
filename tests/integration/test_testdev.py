"""The test interfaces bhyve offers kvm-unit-tests (issue 10): pc-testdev
(-l pc-testdev), QEMU's fw_cfg (-l fwcfg,qemu with -f), bhyve's fwctl
(-l fwcfg,bhyve) and the Multiboot information with a module (--initrd),
each driven by a Multiboot test guest of tests/guests/mb (built by `make
guests`) that prints what it sees on COM1.  No Linux guest is booted."""
import os
import struct
import subprocess

import pytest

from guestlib import bhyve_path, repo_root

TIMEOUT = 60
LPC = ["-s", "0,hostbridge", "-s", "31,lpc", "-l", "com1,stdio"]


def guest_path(name):
    path = os.path.join(repo_root(), "build/guests/mb/%s.elf" % name)
    if not os.path.exists(path):
        pytest.fail("%s is missing: run `make guests`" % path, pytrace=False)
    return path


def run(kernel, args=(), cmdline=None, initrd=None):
    argv = [bhyve_path(), *args, "--kernel", kernel]
    if initrd is not None:
        argv += ["--initrd", str(initrd)]
    if cmdline is not None:
        argv += ["--cmdline", cmdline]
    env = dict(os.environ)
    env.pop("BHYVE_DEBUG", None)
    p = subprocess.run(argv + ["vm"], stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=TIMEOUT, env=env)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


# ---- pc-testdev -------------------------------------------------------------

@pytest.mark.parametrize("value, width, status", [
    (0, "", 1), (1, "w", 3), (38, "l", 77), (63, "", 127)])
def test_exit_port_status(value, width, status):
    # A byte, word or dword write of V to port 0xF4: exit status (V << 1) | 1.
    rc, out, err = run(guest_path("testdev"), ["-m", "64M", *LPC, "-l", "pc-testdev"],
                       cmdline=("%d %s" % (value, width)).strip())
    assert (rc, out) == (status, "exit %d\n" % value), err


TESTDEV_OUT = """testdev
scratch 0x12345678 0x00000056 0x00001234 0xab345678 0xabcdef78
flush 0x00000000
bytes 0x44332211 0x00000033
exitport 0x00000000 0x00000000
iomem 0x0badcafe 0x000000ca 0xbeef0000 0x000000be 0x11223344
irq 10 1
irq 17 1
pin24 0x000000ff
testdev done
"""


def test_every_pc_testdev_interface():
    # Scratch and byte registers at every width and offset, the flush and
    # exit ports, the MMIO region at both ends and with rep stosl, and an
    # interrupt through the I/O APIC from an ISA pin (10, edge) and a pin
    # above 15 (17, level); port 0x2018 (pin 24) does not exist.
    rc, out, err = run(guest_path("testdev"), ["-m", "64M", *LPC, "-l", "pc-testdev"])
    assert (rc, out) == (1, TESTDEV_OUT), err


def test_mmio_access_crossing_the_end_is_refused():
    # A dword read at 0xFF00FFFE: its last two bytes lie past the region,
    # so the runner stops with the address of the refused part.
    rc, out, err = run(guest_path("testdev"), ["-m", "64M", *LPC, "-l", "pc-testdev"],
                       cmdline="cross")
    assert (rc, out) == (4, "cross\n"), err
    assert "unhandled memory read at guest-physical address 0xff010000" in err


def test_without_pc_testdev_the_ports_are_not_there():
    # The exit port is unhandled (writes dropped), so the guest runs on and
    # resets: exit status 0.
    rc, out, err = run(guest_path("testdev"), ["-m", "64M", *LPC], cmdline="38")
    assert (rc, out) == (0, "exit 38\nstill running\n"), err


# ---- fw_cfg and fwctl -------------------------------------------------------

def test_qemu_fw_cfg_items_files_and_dma(tmp_path):
    f = tmp_path / "file.txt"
    f.write_bytes(b"from a file")
    rc, out, err = run(guest_path("fwcfg"), [
        "-c", "2", "-m", "128M", *LPC, "-l", "fwcfg,qemu",
        "-f", "opt/test/hello,string=hello world", "-f", "name=opt/test/file,file=%s" % f])
    assert rc == 0, err
    # Files sorted by name from selector 0x20; the string's NUL is counted
    # (12 bytes), as bhyve does.
    assert out == """fwcfg
sig QEMU
id 0x00000003
ram 0x00000000 0x08000000
cpus 2
max 2
files 2
file opt/test/file sel 0x00000020 size 11
file opt/test/hello sel 0x00000021 size 12
data opt/test/file: from a file
data opt/test/hello: hello world
dma sig QEMU CFG
dma read 0x00000000: hello world
dma skip 0x00000000: world
dma bad 0x00000001
dma write 0x00000001
past end 0x00000000
""", err


def test_qemu_fw_cfg_without_files_and_with_more_memory():
    # RAM size counts the memory above 4 GiB too.
    rc, out, err = run(guest_path("fwcfg"), ["-c", "3", "-m", "3584M", *LPC, "-l", "fwcfg,qemu"])
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[:7] == ["fwcfg", "sig QEMU", "id 0x00000003", "ram 0x00000000 0xe0000000",
                         "cpus 3", "max 3", "files 0"], out
    # No files: the DMA tests use selector 0, the signature.
    assert lines[7:] == ["dma sig QEMU CFG", "dma read 0x00000000: QEMU",
                         "dma skip 0x00000000: ", "dma bad 0x00000001",
                         "dma write 0x00000001", "past end 0x00000000"], out


def test_bhyve_fwctl_gives_the_cpu_count():
    rc, out, err = run(guest_path("fwctl"), ["-c", "3", "-m", "64M", *LPC, "-l", "fwcfg,bhyve"])
    assert (rc, out) == (0, """fwctl
sig BHYV
getlen hw.ncpu err 0 len 4 hi 0
get hw.ncpu err 0 len 4 val 3
get hw.nope err 2
op 9 err 2
"""), err


# ---- Multiboot --------------------------------------------------------------

MMAP_128M = """mmap 0x00000000:0x00000000 0x00000000:0x0009fc00 1
mmap 0x00000000:0x0009fc00 0x00000000:0x00000400 2
mmap 0x00000000:0x000f0000 0x00000000:0x00010000 2
mmap 0x00000000:0x00100000 0x00000000:0x07f00000 1
mmap 0x00000000:0xe0000000 0x00000000:0x10000000 2
"""


def test_multiboot_information(tmp_path):
    # mem_lower/mem_upper and the memory map from the e820 map of -m 128M,
    # the command line exactly as given, blanks and quotes included.
    cmdline = "mbinfo  a=b 'q' \"x\" --last "
    rc, out, err = run(guest_path("mbinfo"), ["-m", "128M", *LPC], cmdline=cmdline)
    assert rc == 0, err
    assert out == ("mbinfo\nmagic 0x2badb002\nflags 0x00000245\n"
                   "mem_lower 639 mem_upper 130048\n" + MMAP_128M +
                   "loader bhyve\ncmdline [%s]\n" % cmdline), err


def test_multiboot_module_too_big_for_ram(tmp_path):
    big = tmp_path / "big"
    with open(big, "wb") as f:
        f.truncate(200 << 20)
    rc, out, err = run(guest_path("mbinfo"), ["-m", "128M", *LPC], initrd=big)
    assert (rc, out) == (4, ""), err
    assert "no room in guest RAM" in err and "Multiboot module" in err


def elf32_load_addrs(path):
    """Physical addresses of the ELF32 file's non-empty PT_LOAD segments."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:4] == b"\x7fELF" and data[4] == 1, "not ELF32"
    phoff, = struct.unpack_from("<I", data, 28)
    phentsize, phnum = struct.unpack_from("<HH", data, 42)
    addrs = []
    for i in range(phnum):
        p_type, _, _, p_paddr, _, p_memsz = struct.unpack_from("<IIIIII", data,
                                                               phoff + i * phentsize)
        if p_type == 1 and p_memsz:
            addrs.append(p_paddr)
    return addrs


@pytest.fixture(scope="module")
def smpfw_4m():
    """tests/guests/mb/smpfw.S linked at 4 MiB, as kvm-unit-tests images
    are (make guests links every guest at 1 MiB with mb.ld)."""
    root = repo_root()
    out_dir = os.path.join(root, "build/guests/mb-4m")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(root, "tests/guests/mb/mb.ld")) as f:
        script = f.read()
    assert "GUEST_LOAD_ADDR = 0x100000;" in script
    ld = os.path.join(out_dir, "mb-4m.ld")
    with open(ld, "w") as f:
        f.write(script.replace("GUEST_LOAD_ADDR = 0x100000;", "GUEST_LOAD_ADDR = 0x400000;"))
    elf = os.path.join(out_dir, "smpfw.elf")
    subprocess.run([os.environ.get("GUEST_CC", "gcc"), "-m32", "-nostdlib", "-static",
                    "-ffreestanding", "-Wl,--build-id=none", "-Wl,-n", "-Wl,-T," + ld,
                    "-o", elf, os.path.join(root, "tests/guests/mb/smpfw.S")],
                   check=True, timeout=120)
    assert min(elf32_load_addrs(elf)) == 0x400000
    return elf


def smp_lines(out, n):
    lines = out.splitlines()
    assert lines[0] == "smpfw cpus %d" % n, out
    assert sorted(lines[1:n]) == ["ap %d" % i for i in range(1, n)], out
    assert lines[n] == "running %d of %d" % (n, n), out
    return lines[n + 1:]


def test_4mib_image_reads_cpu_count_and_starts_aps(smpfw_4m):
    # The case: a Multiboot ELF32 image linked at 4 MiB, -c 3 with
    # pc-testdev and QEMU's fw_cfg: the CPU count from fw_cfg, the APs
    # started by a SIPI to page 0, success through the exit port.
    rc, out, err = run(smpfw_4m, ["-c", "3", "-m", "128M", *LPC, "-l", "pc-testdev",
                                  "-l", "fwcfg,qemu"])
    assert rc == 1, (out, err)
    assert smp_lines(out, 3) == ["image 0x00400010"], out


def test_manual_example_for_an_outside_test_kernel():
    # bhyve.8 and README: bhyve -c 2 -m 128M -s 0,hostbridge -s 31,lpc
    # -l com1,stdio -l pc-testdev -l fwcfg,qemu --kernel test.flat
    # --cmdline "test.flat ARGS" vm
    rc, out, err = run(guest_path("smpfw"), ["-c", "2", "-m", "128M", "-s", "0,hostbridge",
                                             "-s", "31,lpc", "-l", "com1,stdio",
                                             "-l", "pc-testdev", "-l", "fwcfg,qemu"],
                       cmdline="smpfw.elf ARGS")
    assert rc == 1, (out, err)
    assert smp_lines(out, 2) == ["image 0x00100010"], out
