"""Load (issue 9): eight Linux guests booted at the same time (-m 128M each)
all reach their init and power off, each runner exiting with status 1."""
import subprocess
import time

from guestlib import assets, bhyve_path, make_initramfs

VMS = 8
INIT = """#!/bin/sh
# Unknown kernel parameters with "=" reach init as environment variables.
echo "BHYVE-LOAD-READY $vmname"
poweroff -f
"""


def test_eight_guests_at_once(tmp_path):
    initrd = make_initramfs(tmp_path, INIT, name="load.cpio.gz")
    kernel = str(assets().vmlinux)
    runs = []
    for i in range(VMS):
        out = open(tmp_path / ("vm%d.out" % i), "wb")
        p = subprocess.Popen([bhyve_path(), "-m", "128M", "-H", "-s", "0,hostbridge",
                              "-s", "31,lpc", "-l", "com1,stdio", "--kernel", kernel,
                              "--initrd", str(initrd),
                              "--cmdline", "console=ttyS0 quiet vmname=load%d" % i,
                              "load%d" % i],
                             stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        runs.append((p, out))
    deadline = time.monotonic() + 900
    try:
        for p, _ in runs:
            p.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        for p, out in runs:
            if p.poll() is None:
                p.kill()
                p.wait()
            out.close()
    for i, (p, _) in enumerate(runs):
        text = (tmp_path / ("vm%d.out" % i)).read_text(errors="replace")
        assert "BHYVE-LOAD-READY load%d" % i in text, (i, text[-2000:])
        assert p.returncode == 1, (i, p.returncode, text[-2000:])
