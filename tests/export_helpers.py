"""What the document tests (tests/test_export.py and test_engine_document.py) share: ops with defaults,
async, generator and open outputs, a literal with a repr, a plain function, and a sample graph using
them all."""

from __future__ import annotations

from operonx.graph import GraphOp
from operonx.op import FuncOp, op
from operonx import END, PARENT, START


@op
def add(x, y=1):
    return {"sum": x + y}


@op
def opts(a, b=None, c=(1, 2), d=0):
    return {"out": a}


@op
async def fetch(url):
    return {"body": url}


@op
def count(n):
    for i in range(n):
        yield {"item": i}


@op
def open_outputs(x):
    result = {"k": x}
    return result


class Thing:
    def __repr__(self) -> str:
        return "Thing()"


def collect_kwargs(**kw):
    return kw


def sample_graph() -> GraphOp:
    with GraphOp(name="g", concurrency=2) as g:
        a = add(x=PARENT["x"])
        b = opts(a=a["sum"], b=None, c=(3, 4), d=Thing())
        c = fetch(url=a["sum"].upper()[0] + "/x", body=PARENT["page"])
        d = FuncOp(code_fn=collect_kwargs, inputs={"p": b["out"], "q": 5}, name="d")
        START >> a >> [b, c]
        a >> ~d
        [b, c] >> END
        d["p"] >> PARENT["pp"]
    return g
