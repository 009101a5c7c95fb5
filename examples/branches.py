"""Branches: a branch op runs the first target whose condition holds; the other targets are skipped.

Run it with `python examples/branches.py`.
"""

import asyncio

from operonx import END, PARENT, START, BranchOp, GraphOp, Operon, op
from operonx.core.ops import if_


@op
def reply(ticket, tone):
    return {"reply": f"[{tone}] re: {ticket}"}


@op
def log(ticket):
    return {"logged": ticket}


# if_(...).if_(...).else_(...): the cases are tried in order, the default runs when none holds.
with GraphOp(name="support") as g:
    route = if_(PARENT["priority"] >= 8, "urgent").if_(PARENT["priority"] >= 4, "normal").else_("later")
    # Mapping the branch's outputs to the graph makes it emit a frame saying what it chose.
    route["target"] >> PARENT["routed_to"]
    route["matched"] >> PARENT["because"]
    urgent = reply(ticket=PARENT["ticket"], tone="urgent")
    normal = reply(ticket=PARENT["ticket"], tone="normal")
    later = log(ticket=PARENT["ticket"])
    START >> route >> [urgent, normal, later] >> END

# BranchOp with a list of cases and no default: when no case holds, no target runs.
with GraphOp(name="gate") as gate:
    check = BranchOp(name="check", cases=[(PARENT["size"] > 100, "big")])
    big = log(ticket=PARENT["size"], name="big")
    START >> check >> big >> END


async def main() -> None:
    engine = Operon(g)
    for priority in (9, 5, 1):
        result = await engine.run({"ticket": "login fails", "priority": priority})
        answer = result.get("reply", result.get("logged"))
        print(f"priority {priority}: routed to {result['routed_to']} ({result['because']}): {answer}")

    # The branch's frame comes before its chosen target's.
    handle = engine.start({"ticket": "typo on page", "priority": 5})
    async for name, ctx, data in handle:
        print("frame:", name, data)

    gate_engine = Operon(gate)
    print("gate, size 500:", {k: v for k, v in (await gate_engine.run({"size": 500})).items() if k != "$state"})
    print("gate, size 5:", {k: v for k, v in (await gate_engine.run({"size": 5})).items() if k != "$state"})


if __name__ == "__main__":
    asyncio.run(main())
