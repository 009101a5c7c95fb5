"""Misuse of @op that type checkers catch.

Each line marked ``expect-error[mypy code, pyright rule]`` must be reported by both checkers with that
code and rule (tests/test_typing.py); no other line may be.
"""

from __future__ import annotations

from operonx import PARENT, GraphOp, op


@op
def add(x: int, y: int = 1) -> dict[str, int]:
    return {"sum": x + y}


@op(bound="gpu")  # expect-error[call-overload, reportArgumentType]: a bound is "sync", "io" or "cpu"
def on_gpu(x: int) -> dict[str, int]:
    return {"x": x}


not_a_function = op(42)  # expect-error[call-overload, reportCallIssue]: @op needs a callable

add.func("a")  # expect-error[arg-type, reportArgumentType]: the function keeps its signature
add.func(1, z=2)  # expect-error[call-arg, reportCallIssue]: there is no parameter z
add(1)  # expect-error[call-arg, reportCallIssue]: an op is called with keywords only (plain call: add.func)

with GraphOp(name="g"):
    node = add(x=PARENT["x"], bound="threads")  # expect-error[arg-type, reportArgumentType]: bound
    other = add(inputs=["x"])  # expect-error[arg-type, reportArgumentType]: inputs= is a mapping
    late = add(x=PARENT["x"], delay="soon")  # expect-error[arg-type, reportArgumentType]: seconds
