"""Writes the conformance fixtures (rust/core/tests/conformance/*.json) from the cases in tests/conformance/.

    python tests/conformance_gen.py           # (re)write every fixture, remove fixtures of deleted cases
    python tests/conformance_gen.py --check   # exit 1 when a file differs from what its case builds

tests/test_conformance.py runs the same check, so a builder change that alters a document shows up as a
stale fixture.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from conformance import cases_control, cases_errors, cases_flow, cases_loops, cases_streams  # noqa: F401
from conformance.fixture import CASES, build

FIXTURES = Path(__file__).resolve().parent.parent / "rust" / "core" / "tests" / "conformance"


def render(fixture: dict) -> str:
    """A fixture as its file holds it."""
    return json.dumps(fixture, indent=1, ensure_ascii=False) + "\n"


def expected_files() -> dict[str, str]:
    """File name -> text, for every case."""
    files: dict[str, str] = {}
    for fn in CASES:
        fixture = build(fn)
        name = f"{fixture['name']}.json"
        assert name not in files, f"two cases named {fixture['name']!r}"
        files[name] = render(fixture)
    return files


def differences() -> list[str]:
    """What differs between the cases and the fixture files (empty when they agree)."""
    want = expected_files()
    have = {p.name: p.read_text(encoding="utf-8") for p in FIXTURES.glob("*.json")}
    out = [f"{n}: missing" for n in sorted(want.keys() - have.keys())]
    out += [f"{n}: no case writes it" for n in sorted(have.keys() - want.keys())]
    out += [f"{n}: differs" for n in sorted(want.keys() & have.keys()) if want[n] != have[n]]
    return out


def main(argv: list[str]) -> int:
    if "--check" in argv:
        diff = differences()
        print("\n".join(diff) or "fixtures are up to date")
        return 1 if diff else 0
    want = expected_files()
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for stale in FIXTURES.glob("*.json"):
        if stale.name not in want:
            stale.unlink()
    for name, text in want.items():
        (FIXTURES / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(want)} fixtures to {FIXTURES}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
