"""The ops and graphs the loop tests (tests/test_loop*.py) share: a counting root loop and a nested loop
whose outer graph doubles its input."""

from operonx import END, PARENT, START, GraphOp, op


@op
def inc(count: int, acc: list = None):
    return {"count": count + 1, "acc": (acc or []) + [count]}


@op
def double(x: int):
    return {"y": x * 2}


@op
def step(n: int):
    return {"n": n + 1}


def counter(until="count >= 3", max_iterations=10, **initial):
    initial.setdefault("count", 0)
    with GraphOp.loop(name="lp", until=until, max_iterations=max_iterations, **initial) as g:
        a = inc(count=PARENT["count"], acc=PARENT["acc"])
        START >> a >> END
    return g


def outputs(result):
    return {k: v for k, v in result.items() if not k.startswith("$")}


async def frames_of(engine, inputs=None):
    return [f async for f in engine.start(inputs or {})]


def outer_graph(max_iterations=10, wired=True):
    with GraphOp(name="outer") as g:
        d = double(x=PARENT["x"])
        with GraphOp.loop(name="lp", until=lambda v: v["count"] >= 3, max_iterations=max_iterations, count=d["y"]) as lp:
            a = inc(count=PARENT["count"])
            a["count"] >> PARENT["count"]
            START >> a
        after = double(x=lp["count"])
        START >> d >> lp >> after >> END
        if wired:
            lp >> END
    return g
