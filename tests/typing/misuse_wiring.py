"""Misuse of edges and refs that type checkers catch.

Each line marked ``expect-error[mypy code, pyright rule]`` must be reported by both checkers with that
code and rule (tests/test_typing.py); no other line may be.
"""

from __future__ import annotations

from operonx import END, PARENT, START, GraphOp, op


@op
def inc(x: int) -> dict[str, int]:
    return {"y": x + 1}


with GraphOp(name="g"):
    a = inc(x=PARENT["x"])
    b = inc(x=a["y"])
    START >> 3  # expect-error[operator, reportOperatorIssue]: only ops are wired
    START >> ~a  # expect-error[operator, reportOperatorIssue]: START has no soft edge
    START > a  # expect-error[operator, reportOperatorIssue]: START has no soft edge
    a >> "b"  # expect-error[operator, reportOperatorIssue]: wire the op, not its name
    a >> b["x"]  # expect-error[operator, reportOperatorIssue]: ops wire to ops, refs map to refs
    a["y"] >> b  # expect-error[operator, reportOperatorIssue]: a ref maps to a ref
    b >> END
