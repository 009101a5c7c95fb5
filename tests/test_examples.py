"""Every script in examples/ runs as `python examples/x.py` from any directory, exits 0 and prints what
it says it shows. The release check runs the same scripts against an installed wheel, so they may
import only the standard library and operonx."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TIMEOUT = 60  # seconds per script

# Lines each script must print (regular expressions matched against whole lines, in this order).
EXPECTED = {
    "quickstart.py": [
        r"<Operon engine='quickstart' ops=4>",
        r"result: 3 words, 'HELLO RUST ENGINE'",
        r"state: 3 words counted",
    ],
    "streaming.py": [
        r"frame: summary \('main', '\[\d\]'\) \{'summary': 'page \d summarized'\}",
        r"first summary: page \d summarized",
        r"all summaries: \['page 0 summarized', 'page 1 summarized', 'page 2 summarized'\]",
        r"pages seen: 3",
        r"run\(\): 3 summaries, 3 pages",
    ],
    "branches.py": [
        r"priority 9: routed to urgent \(priority >= 8\): \[urgent\] re: login fails",
        r"priority 5: routed to normal \(priority >= 4\): \[normal\] re: login fails",
        r"priority 1: routed to later \(default\): login fails",
        r"frame: route \{'routed_to': 'normal', 'because': 'priority >= 4'\}",
        r"frame: normal \{'reply': '\[normal\] re: typo on page'\}",
        r"gate, size 500: \{'logged': 500\}",
        r"gate, size 5: \{\}",
    ],
    "loops.py": [
        r"frame: \('main', 'loop_0'\) \{'total': 1, 'step': 2\}",
        r"frame: \('main', 'loop_6'\) \{'total': 127, 'step': 128\}",
        r"from step 10: 150 after 4 iterations",
        r"stuck loop: \{'runs': 1, 'iterations': 20, 'max_iterations': 20, 'reached_max': 1\}",
        r"countdown ended at 0",
    ],
    "nested.py": [
        r"frame: analyze \{'longest': 'compose'\}",
        r"frame: abbrev \{'short': 'comp'\}",
        r"longest: compose -> short: comp",
        r"state: \['nested', 'graphs', 'compose', 'nicely'\]",
    ],
    "cancel.py": [
        r"frame: \{'tick': 0\}",
        r"frame: \{'tick': 2\}",
        r"cancelled: True done: True",
        r"collect\(\) after cancel: \d+ ticks",
        r"result\(\) raised RunCancelled: run of graph 'clock' was cancelled",
        r"run\(\) timed out; ticks made after that: 0",
    ],
    "errors.py": [
        r"ok: 0.25",
        r"OpError: op 'calc.inverted' of graph 'calc' failed \(context \('main',\)\): ZeroDivisionError: .*",
        r"  graph: calc \| op: calc.inverted \| context: \('main',\) \| cause: ZeroDivisionError\(.*\)",
        r"InputError: op 'calc.parsed' .* missing required input 'text' .*did you mean 'txet'\?.*",
        r"  op: calc.parsed \| input: text \| suggestion: txet",
        r"both are OperonErrors: True",
        r"continue: 0.5 \[\]",
        r"continue: None \['calc.parsed'\]",
        r"continue: None \['calc.inverted'\]",
        r"handle.errors: \['ValueError'\] \| \$errors: 1",
    ],
}


def scripts() -> list[str]:
    return sorted(p.name for p in EXAMPLES.glob("*.py"))


def test_every_example_has_expected_output():
    assert set(scripts()) == set(EXPECTED)


@pytest.mark.parametrize("name", scripts())
def test_example_runs_from_another_directory(name: str, tmp_path: Path):
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 0, f"{name} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    lines = proc.stdout.splitlines()
    i = 0
    for pattern in EXPECTED[name]:
        while i < len(lines) and not re.fullmatch(pattern, lines[i]):
            i += 1
        assert i < len(lines), f"{name}: no line matching {pattern!r} (in order); it printed:\n{proc.stdout}"
        i += 1


@pytest.mark.parametrize("name", scripts())
def test_example_imports_only_the_standard_library_and_operonx(name: str):
    tree = ast.parse((EXAMPLES / name).read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{name}: relative import"
            roots.add(node.module.split(".")[0])
    assert roots - {"operonx"} <= set(sys.stdlib_module_names), f"{name} imports {sorted(roots)}"
