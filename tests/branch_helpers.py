"""What the branch authoring tests (tests/test_branch_*.py) share: four ops and a graph routed by an
if_ chain."""

from __future__ import annotations

from operonx import END, PARENT, START, GraphOp, op
from operonx.core.ops import if_


@op
def a(x):
    return {"v": x}


@op
def b(x):
    return {"v": x}


@op
def c(x):
    return {"v": x}


@op
def score(x):
    return {"score": x, "name": "n"}


def example_graph():
    with GraphOp(name="g") as g:
        router = if_(PARENT["score"] >= 90, "hi").if_(
            (PARENT["score"] >= 50) & (PARENT["kind"] == "x"), "mid"
        ).else_("lo")
        hi = a(x=PARENT["score"])
        mid = b(x=PARENT["score"])
        lo = c(x=PARENT["score"])
        START >> router >> [hi, mid, lo] >> END
        router["target"] >> PARENT["t"]
        router["matched"] >> PARENT["m"]
    return g, router
