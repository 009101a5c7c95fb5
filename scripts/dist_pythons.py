"""Find the CPython interpreters that `make dist` builds wheels for and `make dist-check` tests them with.

    python3 scripts/dist_pythons.py python3.11 python3.12 /opt/py313/bin/python3.13

prints one interpreter path per argument, in order, or names every one it cannot find and exits 1.

A name without a slash is looked up on PATH first, then under pyenv's `$PYENV_ROOT/versions/*/bin/`
(newest version first): pyenv installs a shim for every version it has, but a shim refuses to run a
version that is not selected, so a candidate counts only if it runs. A name like `python3.12` must
also report version 3.12. A path is taken as it is, if it runs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

PROBE = (
    "import sys; print(sys.implementation.name); print('%d.%d' % sys.version_info[:2]);"
    "print(sys.base_prefix); print(sys.executable)"
)
PROBE_TIMEOUT = 30


def probe(candidate: str) -> tuple[str, str] | None:
    """(interpreter of that installation, "X.Y") when `candidate` runs and is CPython, else None.

    `candidate` may be a pyenv shim (a script, and sys.executable can name the shim itself): the path
    returned is then the installation's own interpreter, so that venvs made from it are real venvs.
    """
    try:
        done = subprocess.run(
            [candidate, "-c", PROBE], capture_output=True, text=True, timeout=PROBE_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = done.stdout.splitlines()
    if done.returncode != 0 or len(lines) != 4 or lines[0] != "cpython":
        return None
    _, version, base_prefix, executable = lines
    installed = Path(base_prefix) / "bin" / f"python{version}"
    return str(installed if installed.exists() else Path(executable).absolute()), version


def pyenv_root() -> Path:
    return Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


def _version_key(path: Path) -> tuple[int, ...]:
    """Sort key of .../versions/3.12.1/bin/python3.12: (3, 12, 1)."""
    return tuple(int(n) for n in re.findall(r"\d+", path.parent.parent.name))


def candidates(name: str) -> list[str]:
    """Where to look for `name`, best first."""
    if os.sep in name:
        return [name]
    on_path = shutil.which(name)
    pyenv = sorted(pyenv_root().glob(f"versions/*/bin/{name}"), key=_version_key, reverse=True)
    return ([on_path] if on_path else []) + [str(p) for p in pyenv]


def find(name: str) -> tuple[str, str] | None:
    """(interpreter path, "X.Y") for `name` (python3.12, or a path), or None when none runs."""
    wanted = re.fullmatch(r"python(\d+\.\d+)", name)
    for candidate in candidates(name):
        found = probe(candidate)
        if found and (wanted is None or found[1] == wanted.group(1)):
            # A path given is used as it is, even a venv's interpreter.
            return (str(Path(name).absolute()), found[1]) if os.sep in name else found
    return None


def python_name(version: str) -> str:
    """The interpreter name of a version: "3.12" -> "python3.12"."""
    return f"python{version}"


def main(names: list[str]) -> int:
    if not names:
        print("usage: dist_pythons.py NAME_OR_PATH...", file=sys.stderr)
        return 2
    found, missing = [], []
    for name in names:
        hit = find(name)
        if hit is None:
            missing.append(name)
        else:
            print(f"dist_pythons: {name} -> {hit[0]} (CPython {hit[1]})", file=sys.stderr)
            found.append(hit[0])
    if missing:
        version = re.fullmatch(r"python(\d+\.\d+)", missing[0])
        print(
            f"dist_pythons: no working CPython interpreter for {', '.join(missing)}.\n"
            f"  Looked on PATH and under {pyenv_root()}/versions/*/bin/.\n"
            f"  Install it (for instance `pyenv install {version.group(1) if version else '3.12'}`),"
            " or name the interpreters to use:\n"
            "  make dist DIST_PYTHONS='python3.11 /path/to/python3.12 /path/to/python3.13'",
            file=sys.stderr,
        )
        return 1
    print("\n".join(found))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
