"""Ops of every kind, refs, options and edges, as a user writes them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from operonx import END, PARENT, START, FuncOp, GraphOp, Operon, op
from operonx.refs import Ref


@op
def add(x: int, y: int = 1) -> dict[str, int]:
    return {"sum": x + y}


@op(bound="cpu", cache=False, delay=0, name="scaled", return_keys=["out"])
def scale(value: int, factor: float) -> dict[str, float]:
    return {"out": value * factor}


@op
async def fetch(url: str) -> dict[str, str]:
    return {"body": url.upper()}


@op
def numbers(n: int) -> Iterator[dict[str, int]]:
    for i in range(n):
        yield {"i": i}


@op
async def words(text: str) -> AsyncIterator[dict[str, str]]:
    for word in text.split():
        yield {"word": word}


@op
def join(**parts: object) -> dict[str, str]:
    return {"joined": ",".join(map(str, parts.values()))}


def halve(x: float) -> dict[str, float]:
    return {"half": x / 2}


def plain_calls() -> None:
    total: dict[str, int] = add.func(1, y=2)  # the function itself, with its own signature
    wrapped: dict[str, int] = add.__wrapped__(x=3)
    print(total["sum"] + wrapped["sum"])


def build() -> GraphOp:
    with GraphOp(name="g", concurrency=4) as g:
        a = add(x=PARENT["x"])
        b = add(x=a["sum"], y=2, name="b")
        s = scale(value=b["sum"], factor=0.5, bound="io", outputs={"out": PARENT["scaled"]})
        f = fetch(url=PARENT["url"].strip().lower(), inputs={"*": PARENT})
        n = numbers(n=3, return_keys=["i"])
        each = add(x=n["i"].parallel(max=2) * 2 + 1)
        everything = join(items=n["i"].collect(), total=10 - a["sum"], flag=(a["sum"] > 1) & ~(b["sum"] == 3))
        w = words(text=PARENT["text"], cache=False)
        START >> a >> b >> [s, f]
        START >> n >> [each, everything]
        b > w
        b >> ~everything
        [s, f, each, everything, w] >> END
        a["sum"] >> PARENT["first"]
        node: FuncOp[[int, int], dict[str, int]] = b
        ref: Ref = node["sum"]
        print(ref.var, node.name, node.full_name, node.bound, node.func(1, 2), f.is_async)
    return g


def run() -> None:
    engine = Operon(build())
    print(repr(engine), engine.name)
    result = engine.run_sync({"x": 1, "url": " A ", "text": "a b"})
    state = result["$state"]
    print(result["sum"], state, state["g.a", "sum"], state.ops_run, state.keys(), state.tags)
    with GraphOp(name="direct") as g:
        node = FuncOp(code_fn=halve, inputs={"x": 1}, name="half")
        START >> node >> END
        print(node.inputs, node.outputs, node.func(4.0))
    print(Operon(g).run_sync())


if __name__ == "__main__":
    plain_calls()
    run()
