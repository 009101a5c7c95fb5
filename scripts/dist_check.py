"""`make dist-check`: each wheel in dist/ installs and runs where there is no Rust.

For every dist/operonx-*.whl: `auditwheel show` must find it consistent with the manylinux tag it
claims; then a fresh venv of the wheel's own Python (found like `make dist` finds it, see
dist_pythons.py) gets the wheel with `pip install --no-index --find-links dist operonx` under a PATH
that holds no cargo or rustc, and every examples/*.py runs in it from an empty working directory and
must exit 0. Prints one line per step and exits 1 on any failure.

    python scripts/dist_check.py [--dist DIR] [--examples DIR]

Each example gets DIST_CHECK_EXAMPLE_TIMEOUT seconds (default 180).
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dist_pythons

ROOT = Path(__file__).resolve().parent.parent
RUST_TOOLS = ("cargo", "rustc", "rustup")
VENV_TIMEOUT = 180
PIP_TIMEOUT = 300
EXAMPLE_TIMEOUT = float(os.environ.get("DIST_CHECK_EXAMPLE_TIMEOUT", 180))
AUDIT_TIMEOUT = 120
TAIL_LINES = 25


def wheel_tags(wheel: Path) -> tuple[str, set[str]]:
    """("3.12", {"cp312-cp312-manylinux_2_17_x86_64", ...}) from the wheel's file name."""
    parts = wheel.name.removesuffix(".whl").split("-")
    python, abi, platform = parts[-3:]
    found = re.fullmatch(r"cp3(\d+)", python)
    if found is None:
        raise ValueError(f"{wheel.name}: not a CPython 3 wheel (python tag {python!r})")
    tags = {"-".join(t) for t in itertools.product(python.split("."), abi.split("."), platform.split("."))}
    return f"3.{found.group(1)}", tags


def glibc_minor(platform_tag: str) -> int | None:
    """17 for manylinux_2_17_x86_64 and for manylinux2014_x86_64; None for other tags."""
    legacy = {"manylinux1": 5, "manylinux2010": 12, "manylinux2014": 17}
    found = re.match(r"manylinux_2_(\d+)_|(manylinux1|manylinux2010|manylinux2014)_", platform_tag)
    if found is None:
        return None
    return int(found.group(1)) if found.group(1) else legacy[found.group(2)]


def audit(wheel: Path, tags: set[str]) -> str | None:
    """None when auditwheel finds the wheel consistent with the manylinux policy it claims; else why not."""
    auditwheel = Path(sys.executable).parent / "auditwheel"
    if not auditwheel.exists():
        return f"auditwheel not installed next to {sys.executable} (`make dist-check` installs it)"
    done = subprocess.run(
        [str(auditwheel), "show", str(wheel)], capture_output=True, text=True, timeout=AUDIT_TIMEOUT, check=False
    )
    text = " ".join(done.stdout.split())  # auditwheel wraps its lines
    found = re.search(r'consistent with the following platform tag: "([^"]+)"', text)
    if done.returncode != 0 or found is None:
        return f"auditwheel show failed:\n{done.stdout}{done.stderr}"
    needed = glibc_minor(found.group(1))
    claimed = max((m for t in tags if (m := glibc_minor(t.split("-")[2])) is not None), default=None)
    if needed is None or claimed is None or needed > claimed:
        return f"auditwheel: consistent only with {found.group(1)}, but the wheel claims glibc 2.{claimed}"
    print(f"   auditwheel: consistent with {found.group(1)}: OK")
    return None


def rustless_env(venv: Path) -> dict[str, str]:
    """The environment the wheel is tested in: the venv first on PATH, no Rust anywhere on it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARGO", "RUSTUP", "RUSTC", "PYO3", "PYTHON"))}
    env.pop("VIRTUAL_ENV", None)
    dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d]
    keep = [d for d in dirs if not any(os.access(os.path.join(d, tool), os.X_OK) for tool in RUST_TOOLS)]
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *keep])
    env["VIRTUAL_ENV"] = str(venv)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run(cmd: list[str], *, timeout: float, **kwargs) -> tuple[bool, str]:
    """(exit status 0, stdout and stderr together); a timeout is a failure, not an exception."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)
    except subprocess.TimeoutExpired as exc:
        output = [o.decode(errors="replace") if isinstance(o, bytes) else o for o in (exc.stdout, exc.stderr) if o]
        return False, f"timed out after {timeout} s\n{''.join(output)}"
    return done.returncode == 0, f"{done.stdout}{done.stderr}" + (
        f"(exit status {done.returncode})" if done.returncode else ""
    )


def tail(output: str) -> str:
    lines = output.rstrip().splitlines()[-TAIL_LINES:]
    return "\n".join(f"      | {line}" for line in lines)


def step(label: str, ok: bool, output: str) -> bool:
    print(f"   {label}: {'OK' if ok else 'FAIL'}")
    if not ok:
        print(tail(output))
    return ok


INSTALLED = (
    "import importlib.metadata as m, platform, operonx, operonx._core as c; d = m.distribution('operonx');"
    "print(d.version, 'on Python', platform.python_version()); print(c.__file__);"
    "print('\\n'.join(l[5:] for l in d.read_text('WHEEL').splitlines() if l.startswith('Tag: ')))"
)


def install(venv: Path, dist: Path, tags: set[str], env: dict[str, str], cwd: Path) -> bool:
    """pip-installs operonx from dist/ with no index, then checks it is this wheel, imported from the venv."""
    py = str(venv / "bin" / "python")
    cmd = [py, "-m", "pip", "install", "--no-index", "--find-links", str(dist), "operonx"]
    if not step(" ".join(["pip install", *cmd[4:]]), *run(cmd, timeout=PIP_TIMEOUT, env=env, cwd=cwd)):
        return False
    ok, output = run([py, "-c", INSTALLED], timeout=VENV_TIMEOUT, env=env, cwd=cwd)
    lines = output.splitlines()
    if ok and len(lines) >= 2:
        ok = Path(lines[1]).resolve().is_relative_to(venv.resolve()) and set(lines[2:]) == tags
        output += f"\nexpected tags {sorted(tags)} and _core under {venv}"
    return step(f"installed operonx {lines[0] if lines else '?'} is this wheel, _core from the venv", ok, output)


def run_examples(venv: Path, examples: list[Path], env: dict[str, str], cwd: Path) -> tuple[int, int]:
    """Runs each example in `cwd`; (passed, failed)."""
    passed = failed = 0
    for example in examples:
        start = time.perf_counter()
        ok, output = run([str(venv / "bin" / "python"), str(example)], timeout=EXAMPLE_TIMEOUT, env=env, cwd=cwd)
        step(f"{example.name} ({time.perf_counter() - start:.1f} s)", ok, output)
        passed, failed = passed + ok, failed + (not ok)
    return passed, failed


def check_wheel(wheel: Path, dist: Path, examples: list[Path]) -> tuple[int, int]:
    """All checks of one wheel; (passed, failed), counting the setup steps as one."""
    print(f"== {wheel.name}")
    version, tags = wheel_tags(wheel)
    python = dist_pythons.find(dist_pythons.python_name(version))
    if python is None:
        print(f"   python{version}: FAIL (not found; see scripts/dist_pythons.py)")
        return 0, 1
    print(f"   python: CPython {version} at {python[0]}")
    if (problem := audit(wheel, tags)) is not None:
        print(f"   {problem}")
        return 0, 1
    with tempfile.TemporaryDirectory(prefix="operonx-dist-check-") as tmp:
        venv, cwd = Path(tmp) / "venv", Path(tmp) / "cwd"
        cwd.mkdir()
        if not step("fresh venv", *run([python[0], "-m", "venv", str(venv)], timeout=VENV_TIMEOUT, cwd=cwd)):
            return 0, 1
        env = rustless_env(venv)
        rust = [tool for tool in RUST_TOOLS if shutil.which(tool, path=env["PATH"])]
        print(f"   no Rust on PATH ({', '.join(RUST_TOOLS)} not found): {'FAIL: ' + str(rust) if rust else 'OK'}")
        if rust or not install(venv, dist, tags, env, cwd):
            return 0, 1
        return run_examples(venv, examples, env, cwd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--examples", type=Path, default=ROOT / "examples")
    args = parser.parse_args(argv)
    dist, wheels = args.dist.resolve(), sorted(args.dist.resolve().glob("operonx-*.whl"))
    examples = sorted(args.examples.resolve().glob("*.py"))
    if not wheels or not examples:
        print(f"dist-check: no wheels in {dist} (run `make dist` first)" if not wheels else "no examples/*.py")
        return 1
    passed = failed = 0
    for wheel in wheels:
        p, f = check_wheel(wheel, dist, examples)
        passed, failed = passed + p, failed + f
    print(f"dist-check: {len(wheels)} wheels, {len(examples)} examples each: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
