"""Drive a Linux guest of the runner over its COM1 console (pexpect)."""
import os
import time

import pexpect
import pytest

from guestlib import assets, bhyve_path, make_initramfs, repo_root

BOOT_TIMEOUT = 180
CMDLINE = "console=ttyS0 quiet"


@pytest.fixture(scope="module")
def initrd(tmp_path_factory):
    d = tmp_path_factory.mktemp("initrd")
    init = open(os.path.join(repo_root(), "tests/guests/linux/test-init")).read()
    # The ACPI power button reaches userspace as an input event: busybox's
    # acpid runs /etc/acpi/PWRF/00000080 for it.
    power = (b"#!/bin/sh\necho 'acpid: power button: shutting down' >/dev/console\nsync\n"
             b"poweroff -f\n")
    return str(make_initramfs(d, init, modules=["button", "evdev"],
                              files={"/etc/acpi/PWRF/00000080": power}))


class Guest:
    def __init__(self, initrd, args=(), mem="256M", cpus="1", name="testvm",
                 cmdline="", binary=None, env=None, kernel=None):
        # kernel: the image for --kernel.  Default: the uncompressed vmlinux
        # (no decompression in the guest: a boot in the test bed takes a
        # third less); test_linux_boot.py and test_vmlinux.py cover the
        # bzImage and say which they boot.
        a = assets()
        self.argv = ["-c", cpus, "-m", mem, "-s", "0,hostbridge", "-s", "31,lpc",
                     "-l", "com1,stdio", *args,
                     "--kernel", str(kernel or a["vmlinux"]), "--initrd", initrd,
                     "--cmdline", (CMDLINE + " " + cmdline).strip(), name]
        self.log = []
        # BHYVE_TEST_WRAP: a command to run the runner under, for debugging
        # ("strace -f -o FILE", "{name}" replaced by the VM's name).
        wrap = os.environ.get("BHYVE_TEST_WRAP", "").replace("{name}", name).split()
        cmd = [*wrap, binary or bhyve_path(), *self.argv]
        self.p = pexpect.spawn(cmd[0], cmd[1:], encoding="utf-8",
                               codec_errors="replace", timeout=BOOT_TIMEOUT, env=env)
        self.p.expect(r"BHYVE-GUEST-READY")
        self.p.expect(r"GUEST# ")

    def sh(self, cmd, timeout=60):
        """Run cmd in the guest shell and return its output."""
        token = "%d" % time.monotonic_ns()
        # The typed line says "E""ND<token>", which only the output joins
        # into END<token>: the echo of the command never matches.
        self.p.sendline('%s; echo "E""ND%s"' % (cmd, token))
        self.p.expect_exact("END" + token, timeout=timeout)
        out = self.p.before.replace("\r", "")
        # Drop the echo of the command line itself.
        out = out.split("\n", 1)[1] if "\n" in out else ""
        self.p.expect_exact("GUEST# ", timeout=timeout)
        return out.strip("\n")

    def wait_exit(self, timeout=60):
        self.p.expect(pexpect.EOF, timeout=timeout)
        self.p.close()
        return self.p.exitstatus

    def kill(self):
        if self.p.isalive():
            self.p.terminate(force=True)


@pytest.fixture
def guest(initrd):
    made = []

    def boot(**kw):
        g = Guest(initrd, **kw)
        made.append(g)
        return g
    yield boot
    for g in made:
        g.kill()


