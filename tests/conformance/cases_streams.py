"""Fixtures of streams: generator ops, item contexts, the sequential / parallel / collect policies,
batch values broadcast to per-item ops, generators in loops, failures of one item."""

from __future__ import annotations

from operonx import END, PARENT, START, GraphOp

from conformance.fixture import (
    acount_to, add, ainc, case, count_to, err, fail_at, fixture, frame, inc, scale, spread, step, total,
)


def items(key: str, values: list, *prefix: str) -> list[dict]:
    """One frame per item i of op `key`'s stream: context [i] below `prefix`."""
    return [frame(key, *prefix, f"[{i}]", **v) for i, v in enumerate(values)]


@case
def stream_to_end():
    """A generator wired to END emits a frame per item in the item's context; the result lists them."""
    with GraphOp(name="g") as g:
        c = count_to(n=PARENT["n"])
        START >> c >> END
    return fixture(g, inputs={"n": 3}, frames=items("c", [{"i": 0}, {"i": 1}, {"i": 2}]), result={"i": [0, 1, 2]})


@case
def async_stream_to_end():
    """An async generator wired to END: a frame per item, in order."""
    with GraphOp(name="g") as g:
        c = acount_to(n=PARENT["n"])
        START >> c >> END
    return fixture(g, inputs={"n": 3}, frames=items("c", [{"i": 0}, {"i": 1}, {"i": 2}]), result={"i": [0, 1, 2]})


@case
def stream_single_item():
    """A generator that yields once gives a scalar in the result."""
    with GraphOp(name="g") as g:
        c = count_to(n=1)
        START >> c >> END
    return fixture(g, frames=items("c", [{"i": 0}]), result={"i": 0})


@case
def stream_empty():
    """A generator that yields nothing adds no key; its per-item consumer never runs."""
    with GraphOp(name="g") as g:
        c = count_to(n=0)
        d = inc(x=c["i"])
        START >> c >> d
        [c, d] >> END
    return fixture(g, frames=[], result={})


@case
def stream_per_item_sequential():
    """A consumer of a generator's items runs once per item, in item order, in the item's context."""
    with GraphOp(name="g") as g:
        c = count_to(n=PARENT["n"])
        d = inc(x=c["i"])
        START >> c >> d >> END
    return fixture(g, inputs={"n": 3}, frames=items("d", [{"y": 1}, {"y": 2}, {"y": 3}]), result={"y": [1, 2, 3]})


@case
def stream_and_consumer_to_end():
    """A generator and its per-item consumer both wired to END: a frame per item for each (how the two
    interleave depends on batching)."""
    with GraphOp(name="g") as g:
        c = count_to(n=2)
        d = scale(x=c["i"], k=2)
        START >> c >> d
        [c, d] >> END
    frames = items("c", [{"i": 0}, {"i": 1}]) + items("d", [{"y": 0}, {"y": 2}])
    return fixture(g, frames=frames, result={"i": [0, 1], "y": [0, 2]}, ordered=False)


@case
def stream_parallel():
    """`.parallel()`: items run concurrently, each frame keeps its item's context."""
    with GraphOp(name="g") as g:
        c = count_to(n=PARENT["n"])
        d = ainc(x=c["i"].parallel())
        START >> c >> d >> END
    frames = items("d", [{"y": 1}, {"y": 2}, {"y": 3}, {"y": 4}])
    return fixture(g, inputs={"n": 4}, frames=frames, result={"y": [1, 2, 3, 4]}, ordered=False)


@case
def stream_parallel_max():
    """`.parallel(max=2)`: at most two items at once; every item still runs once."""
    with GraphOp(name="g") as g:
        c = acount_to(n=PARENT["n"])
        d = ainc(x=c["i"].parallel(max=2))
        START >> c >> d >> END
    frames = items("d", [{"y": i + 1} for i in range(5)])
    return fixture(g, inputs={"n": 5}, frames=frames, result={"y": [1, 2, 3, 4, 5]}, ordered=False)


@case
def stream_collect():
    """`.collect()`: the consumer runs once, after the generator ends, with every item (context
    `__collect__`)."""
    with GraphOp(name="g") as g:
        c = count_to(n=PARENT["n"])
        t = total(xs=c["i"].collect())
        START >> c >> t >> END
    frames = [frame("t", "__collect__", sum=6, xs=[0, 1, 2, 3])]
    return fixture(g, inputs={"n": 4}, frames=frames, result={"sum": 6, "xs": [0, 1, 2, 3]})


@case
def stream_collect_empty():
    """`.collect()` of a generator that yields nothing does not call the consumer."""
    with GraphOp(name="g") as g:
        c = count_to(n=0)
        t = total(xs=c["i"].collect())
        START >> c >> t >> END
    return fixture(g, frames=[], result={})


@case
def stream_collect_per_item_output():
    """`.collect()` on a per-item op's output does not aggregate: one call per item, with a one-element
    list, in context [i] + `__collect__`."""
    with GraphOp(name="g") as g:
        c = count_to(n=3)
        d = inc(x=c["i"])
        t = total(xs=d["y"].collect())
        START >> c >> d >> t >> END
    frames = [frame("t", f"[{i}]", "__collect__", sum=i + 1, xs=[i + 1]) for i in range(3)]
    return fixture(g, frames=frames, result={"sum": [1, 2, 3], "xs": [[1], [2], [3]]})


@case
def stream_of_streams():
    """A generator fed by a generator's items: contexts nest, [i] then [j]; item 0 yields nothing."""
    with GraphOp(name="g") as g:
        c = count_to(n=3)
        s = spread(x=c["i"])
        START >> c >> s >> END
    frames = [frame("s", "[1]", "[0]", z=10), frame("s", "[2]", "[0]", z=20), frame("s", "[2]", "[1]", z=21)]
    return fixture(g, frames=frames, result={"z": [10, 20, 21]})


@case
def stream_collect_inner_stream():
    """`.collect()` of an inner stream collects per outer item; an empty inner stream calls nothing."""
    with GraphOp(name="g") as g:
        c = count_to(n=3)
        s = spread(x=c["i"])
        t = total(xs=s["z"].collect())
        START >> c >> s >> t >> END
    frames = [frame("t", "[1]", "__collect__", sum=10, xs=[10]), frame("t", "[2]", "__collect__", sum=41, xs=[20, 21])]
    return fixture(g, frames=frames, result={"sum": [10, 41], "xs": [[10], [20, 21]]})


@case
def stream_batch_value_broadcast():
    """An op fed by a generator's items and a plain value runs once per item, reusing the value."""
    with GraphOp(name="g") as g:
        c = count_to(n=3)
        base = scale(x=PARENT["v"])
        d = add(a=c["i"], b=base["y"])
        START >> [c, base]
        [c, base] >> d >> END
    frames = items("d", [{"y": 70}, {"y": 71}, {"y": 72}])
    return fixture(g, inputs={"v": 7}, frames=frames, result={"y": [70, 71, 72]})


@case
def stream_generator_fed_by_op():
    """A generator whose input comes from an op that ran before it."""
    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        c = count_to(n=a["y"])
        d = scale(x=c["i"], k=3)
        START >> a >> c >> d >> END
    frames = items("d", [{"y": 0}, {"y": 3}, {"y": 6}])
    return fixture(g, inputs={"x": 2}, frames=frames, result={"y": [0, 3, 6]})


@case
def stream_collect_in_loop():
    """A generator and a collecting consumer in a loop body: per iteration, the collect frame in context
    loop_i + `__collect__`; the result is the last iteration's."""
    with GraphOp.loop(name="lp", until="n >= 3", n=0) as g:
        c = count_to(n=PARENT["n"] + 1)
        t = total(xs=c["i"].collect())
        s = step(n=PARENT["n"])
        START >> [c, s]
        c >> t
        [t, s] >> END
    frames = []
    for k in range(3):
        frames += [frame("s", f"loop_{k}", n=k + 1), frame("t", f"loop_{k}", "__collect__", sum=k * (k + 1) // 2,
                                                           xs=list(range(k + 1)))]
    return fixture(g, frames=frames, result={"n": 3, "sum": 3, "xs": [0, 1, 2]})


@case
def stream_item_error_fails_the_run():
    """An op failing on one item fails the run in that item's context, after the earlier items' frames."""
    with GraphOp(name="g") as g:
        c = count_to(n=3)
        f = fail_at(n=c["i"], at=1)
        START >> c >> f >> END
    return fixture(g, frames=items("f", [{"n": 1}]), error=err("OpFailed", "g.f", "[1]"))


@case
def stream_item_error_continue():
    """errors="continue": an op failing on one item is listed with that item's context; the other items
    go on."""
    with GraphOp(name="g") as g:
        c = count_to(n=3)
        f = fail_at(n=c["i"], at=1)
        START >> c >> f >> END
    frames = [frame("f", "[0]", n=1), frame("f", "[2]", n=3)]
    return fixture(g, mode="continue", frames=frames, result={"n": [1, 3]}, errors=[err("OpFailed", "g.f", "[1]")])
