"""What the fault tests (tests/test_faults*.py) share: time bounds and a runner for programs in a fresh
interpreter."""

from __future__ import annotations

import subprocess
import sys
import textwrap


T = 5  # seconds: bound on every await that could hang
# The cpu pool has at most 8 threads: at most that many jobs can have started before a run stopped.
MAX_WORKERS = 8


def run_program(source: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Runs a Python program in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source)], capture_output=True, text=True, timeout=timeout
    )
