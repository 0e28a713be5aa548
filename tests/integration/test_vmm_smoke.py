"""The test bed's first proof (issue 2): through the project's own VMM layer,
a VM with one vCPU and one page runs real-mode code that writes bytes to an
I/O port and halts, on real KVM."""
import os
import subprocess

from guestlib import repo_root


def test_realmode_out_and_hlt():
    assert os.access("/dev/kvm", os.R_OK | os.W_OK), "the test bed must provide /dev/kvm"
    p = subprocess.run([os.path.join(repo_root(), "build/tools/vmm_smoke")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "OK HLT"
