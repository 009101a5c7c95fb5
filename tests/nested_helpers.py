"""What the nested-graph authoring tests (tests/test_nested_authoring.py, test_nested_documents.py and
test_graph_decorator.py) share: two ops and a graph with a nested graph inside."""

from __future__ import annotations

from operonx import END, PARENT, START, GraphOp, op


@op
def a(x):
    return {"v": x}


@op
def b(v, w=1):
    return {"k": v * 10 + w}


def example_graph():
    with GraphOp(name="outer") as g:
        s = a(x=PARENT["x"])
        with GraphOp(name="inner", inputs={"v": s["v"], "lit": 3, "w": PARENT["w"]}) as sub:
            bb = b(v=PARENT["v"], w=PARENT["w"])
            START >> bb >> END
        t = a(x=sub["k"])
        START >> s >> sub >> t >> END
        sub["k"] >> PARENT["k2"]
    return g, sub, bb
