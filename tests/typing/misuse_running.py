"""Misuse of engines, handles and frames that type checkers catch.

Each line marked ``expect-error[mypy code, pyright rule]`` must be reported by both checkers with that
code and rule (tests/test_typing.py); no other line may be.
"""

from __future__ import annotations

import asyncio

from operonx import END, PARENT, START, GraphOp, Operon, op


@op
def inc(x: int) -> dict[str, int]:
    return {"y": x + 1}


with GraphOp(name="g") as g:
    START >> inc(x=PARENT["x"]) >> END

engine = Operon(g)
Operon("g")  # expect-error[arg-type, reportArgumentType]: a GraphOp or a factory of one
engine.run_sync("not a dict")  # expect-error[arg-type, reportArgumentType]: inputs are a mapping
engine.run_sync({"x": 1}, 2)  # expect-error[call-arg, reportCallIssue]: options are keywords
Operon.from_json(5)  # expect-error[arg-type, reportArgumentType]: JSON text, a dict or a path


async def main() -> None:
    await engine.run("not a dict")  # expect-error[arg-type, reportArgumentType]: inputs are a mapping
    await engine.run({"x": 1}, errors="ignore")  # expect-error[arg-type, reportArgumentType]: raise/continue
    handle = engine.start({"x": 1})
    async for frame in handle:
        print(frame.ctx)  # expect-error[attr-defined, reportAttributeAccessIssue]: op, context, data
        op_name: int = frame.op  # expect-error[assignment, reportAssignmentType]: the op's name is a str
        print(op_name)
    await handle.collect("rows")  # expect-error[call-overload, reportCallIssue]: "group" or "flat"
    await engine.batch([{"x": 1}], concurrency="3")  # expect-error[arg-type, reportArgumentType]: an int or None


asyncio.run(main())
