"""Fixtures shared by the integration tests (helpers live in guestlib.py).

Fixtures: assets (guestlib.Assets), repo_root, bhyve_path, make_initramfs
(guestlib.make_initramfs bound to the test's tmp_path) and kvm (fails
unless /dev/kvm is usable).
"""

import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import guestlib  # noqa: E402


@pytest.fixture(name="assets", scope="session")
def _assets():
    try:
        return guestlib.assets()
    except FileNotFoundError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(name="repo_root", scope="session")
def _repo_root():
    return guestlib.repo_root()


@pytest.fixture(name="bhyve_path", scope="session")
def _bhyve_path():
    path = guestlib.bhyve_path()
    if not os.path.exists(path):
        pytest.fail(f"{path} is missing: run `make`", pytrace=False)
    return path


@pytest.fixture(name="make_initramfs")
def _make_initramfs(tmp_path, assets):
    def make(init_script_text, modules=(), files=None, name="initramfs.cpio.gz"):
        return guestlib.make_initramfs(tmp_path, init_script_text, modules=modules,
                                       files=files, name=name)
    return make


@pytest.fixture(name="kvm", scope="session")
def _kvm():
    if not guestlib.kvm_usable():
        pytest.fail("/dev/kvm is not usable: run the tests under scripts/kvm-run",
                    pytrace=False)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "bed_cpus2: needs a machine with two CPUs or more (scripts/run-integration "
        "runs these in a second, 2-vCPU test bed; on one CPU they are skipped)")
    config.addinivalue_line(
        "markers", "bed_outside: tests the QEMU test bed itself, from outside it "
        "(scripts/run-integration runs these on the host first; inside a bed they are skipped)")


def pytest_collection_modifyitems(config, items):
    if (os.cpu_count() or 1) >= 2:
        return
    skip = pytest.mark.skip(reason="needs two CPUs: run-integration runs it in a 2-vCPU bed")
    for item in items:
        if "bed_cpus2" in item.keywords:
            item.add_marker(skip)
