"""The hand-written stubs of the compiled module match it, and the package is typed."""

import pathlib
import subprocess
import sys

import pytest

import operonx
import operonx._core

pytestmark = pytest.mark.timeout(120)


def test_core_is_a_compiled_extension():
    assert pathlib.Path(operonx._core.__file__).suffix == ".so"
    assert (pathlib.Path(operonx.__file__).parent / "py.typed").exists()


def test_stubs_match_the_compiled_module():
    proc = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "operonx._core"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
