"""bhyve(8) command-line behaviour: malformed input gets one clear line on
stderr naming the option and value, and a documented exit status (64 for a
malformed command line, 4 for a failure to start); never a crash."""
import os
import subprocess

import pytest

from guestlib import bhyve_path

EX_USAGE = 64
EX_FAILURE = 4


def run(args, **kw):
    return subprocess.run([bhyve_path()] + args, capture_output=True, text=True,
                          timeout=30, **kw)


def one_clear_line(p, *needles):
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, p.stderr
    for n in needles:
        assert n in lines[0], (n, lines[0])
    # Never a crash: a signal would show as a negative return code.
    assert p.returncode > 0


BASE = ["-s", "0,hostbridge", "-s", "31,lpc", "--kernel", "/bin/sh"]


@pytest.mark.parametrize("args, needles", [
    (["-c", "0"], ["-c", "0"]),
    (["-c", "x"], ["-c", "x"]),
    (["-c", "cpus=4,sockets=3,cores=2"], ["-c"]),
    (["-m", "0"], ["-m", "0"]),
    (["-m", "5Q"], ["-m", "5Q"]),
    (["-m", "99999999999999999999G"], ["-m"]),
    (["-l", "com9,stdio"], ["-l", "com9"]),
    (["-l", "bogus"], ["-l", "bogus"]),
    (["-p", "0:9999"], ["-p", "0:9999"]),
    (["-p", "0:x"], ["-p", "0:x"]),
    (["-p", "5:0"], ["-p"]),
    (["-s", "32,hostbridge"], ["-s", "32,hostbridge"]),
    (["-s", "3,nosuchdevice"], ["nosuchdevice"]),
    (["-s", "0,lpc"], ["-s", "0,lpc"]),          # slot 0 already taken in BASE
    (["-o", "novalue"], ["-o", "novalue"]),
    (["-o", "x86.strictio=perhaps"], ["x86.strictio", "perhaps"]),
    (["-Z"], ["-Z"]),
    (["-U", "not-a-uuid"], ["-U", "not-a-uuid"]),
    (["-G", "w127.0.0.1:notaport"], ["-G", "notaport"]),
    (["-g", "0"], ["-g", "0"]),
    (["-m"], ["-m"]),
    # Issue 10: pc-testdev, fw_cfg and -f.
    (["-l", "pc-testdev", "-l", "pc-testdev"], ["-l", "pc-testdev", "only one"]),
    (["-l", "pc-testdev,x"], ["-l", "pc-testdev,x"]),
    (["-l", "fwcfg,coreboot"], ["-l", "fwcfg,coreboot", "coreboot"]),
    (["-l", "fwcfg"], ["-l", "fwcfg"]),
    (["-l", "fwcfg,qemu", "-f", "opt/x"], ["-f", "opt/x"]),
    (["-l", "fwcfg,qemu", "-f", "opt/x,data=y"], ["-f", "opt/x,data=y"]),
    (["-l", "fwcfg,qemu", "-f", ",string=y"], ["-f", ",string=y"]),
    (["-l", "fwcfg,qemu", "-f", "opt/x,file="], ["-f", "opt/x,file="]),
    (["-l", "fwcfg,qemu", "-f", "opt/" + "n" * 52 + ",string=y"], ["-f", "55"]),
    (["-l", "fwcfg,qemu", "-f", "opt/x,string=a", "-f", "opt/x,string=b"],
     ["-f", "opt/x,string=b"]),
    (["-l", "fwcfg,qemu", "-f", "opt/x,file=/nonexistent/fw"], ["-f", "/nonexistent/fw"]),
    (["-l", "fwcfg,qemu", "-f", "opt/x,file=/"], ["-f", "not a regular file"]),
    (["-f", "opt/x,string=y"], ["-f", "fwcfg,qemu"]),
    (["-l", "fwcfg,bhyve", "-f", "opt/x,string=y"], ["-f", "fwcfg,qemu"]),
    (["-o", "lpc.fwcfg=coreboot"], ["lpc.fwcfg", "coreboot"]),
])
def test_malformed_option(args, needles):
    p = run(BASE + args + ["vm0"])
    assert p.returncode == EX_USAGE, p.stderr
    one_clear_line(p, *needles)


def test_no_vm_name():
    p = run(BASE)
    assert p.returncode == EX_USAGE
    one_clear_line(p, "VM name")


def test_two_vm_names():
    p = run(BASE + ["vm0", "vm1"])
    assert p.returncode == EX_USAGE
    one_clear_line(p, "vm1")


def test_help_exits_zero():
    p = run(["-h"])
    assert p.returncode == 0
    assert "Usage: bhyve" in p.stdout and "vmname" in p.stdout


def test_slot_and_lpc_help():
    p = run(["-s", "help"])
    assert p.returncode == 0 and "hostbridge" in p.stdout.split()
    p = run(["-l", "help"])
    assert p.returncode == 0 and "com1" in p.stdout.split()


def test_missing_kernel_is_a_start_failure(tmp_path):
    p = run(["-s", "31,lpc", "--kernel", str(tmp_path / "nope"), "vm0"])
    assert p.returncode == EX_FAILURE
    one_clear_line(p, "--kernel", "nope")


def test_unreadable_kernel(tmp_path):
    k = tmp_path / "k"
    k.write_bytes(b"not a kernel at all" * 100)
    p = run(["--kernel", str(k), "vm0"])
    assert p.returncode == EX_FAILURE
    one_clear_line(p, "--kernel", str(k))


def test_no_usable_kvm(tmp_path):
    p = run(BASE + ["-o", "kvm.device=%s" % (tmp_path / "kvm"), "vm0"])
    assert p.returncode == EX_FAILURE
    one_clear_line(p, "kvm")


@pytest.mark.parametrize("args, what", [
    (["-s", "3,nvme,/x.img"], "nvme"),
    (["-l", "bootrom,/x.fd"], "bootrom"),
    (["-r", "/tmp/snapshot"], "-r"),
])
def test_later_devices_refused_clearly(args, what):
    p = run(BASE + args + ["vm0"])
    assert p.returncode == EX_FAILURE
    one_clear_line(p, what, "not available")


def test_lpc_test_devices_need_the_lpc_bridge():
    for dev in ("pc-testdev", "fwcfg,qemu", "fwcfg,bhyve"):
        p = run(["-s", "0,hostbridge", "--kernel", "/bin/sh", "-l", dev, "vm0"])
        assert p.returncode == EX_USAGE, p.stderr
        one_clear_line(p, "-l " + dev.split(",")[0], "-s 31,lpc")


def test_fw_cfg_options_in_the_config_tree():
    p = run(BASE + ["-l", "pc-testdev", "-l", "fwcfg,qemu", "-f", "name=opt/a,string=x y",
                    "-f", "opt/b,file=/etc/passwd", "-o", "config.dump=1", "vm0"])
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    for line in ["lpc.pc-testdev=true", "lpc.fwcfg=qemu", "fw_cfg.0.name=opt/a",
                 "fw_cfg.0.string=x y", "fw_cfg.1.name=opt/b", "fw_cfg.1.file=/etc/passwd"]:
        assert line in lines, (line, p.stdout)


def test_config_dump_round_trip(tmp_path):
    p = run(["-c", "cpus=4,sockets=2,cores=2", "-m", "1G", "-s", "0,hostbridge",
             "-s", "31,lpc", "-l", "com1,stdio", "-x", "-o", "config.dump=1", "vm0"])
    assert p.returncode == 0, p.stderr
    dump = p.stdout
    for line in ["cpus=4", "sockets=2", "cores=2", "memory.size=1G", "name=vm0",
                 "lpc.com1.path=stdio", "x86.x2apic=true", "pci.0.31.0.device=lpc"]:
        assert line in dump.splitlines(), (line, dump)
    cfg = tmp_path / "vm.conf"
    cfg.write_text("# a comment\n" + dump.replace("config.dump=1\n", ""))
    p2 = run(["-k", str(cfg), "-o", "config.dump=1"])
    assert p2.returncode == 0, p2.stderr
    assert sorted(p2.stdout.splitlines()) == sorted(dump.splitlines())


def test_config_file_error_names_line(tmp_path):
    cfg = tmp_path / "bad.conf"
    cfg.write_text("cpus=2\nthis line has no equals sign\n")
    p = run(["-k", str(cfg), "vm0"])
    assert p.returncode == EX_USAGE
    one_clear_line(p, "-k", "line 2")


def test_device_init_failure_names_slot_and_path(tmp_path):
    missing = tmp_path / "no-such-image"
    p = run(BASE + ["-s", "3,virtio-blk,%s" % missing, "vm0"])
    assert p.returncode == EX_FAILURE
    one_clear_line(p, "virtio-blk", str(missing))
