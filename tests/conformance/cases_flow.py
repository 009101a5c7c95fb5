"""Fixtures of plain data flow: chains, fan-out and fan-in, FIFO order, soft joins, forwarding,
literals and defaults, transforms in refs, async ops."""

from __future__ import annotations

from operonx import END, PARENT, START, GraphOp

from conformance.fixture import (
    add, ainc, case, echo, fixture, frame, inc, scale, split, tagged,
)


@case
def chain_two():
    """Two ops in a chain; only the last is wired to END, so it alone emits a frame."""
    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        b = inc(x=a["y"])
        START >> a >> b >> END
    return fixture(g, inputs={"x": 1}, frames=[frame("b", y=3)], result={"y": 3})


@case
def chain_every_op_to_end():
    """Every op of a chain wired to END: a frame per op in run order, one key grouped into a list."""
    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        b = inc(x=a["y"])
        c = inc(x=b["y"])
        START >> a >> b >> c
        [a, b, c] >> END
    frames = [frame("a", y=2), frame("b", y=3), frame("c", y=4)]
    return fixture(g, inputs={"x": 1}, frames=frames, result={"y": [2, 3, 4]})


@case
def mapped_outputs():
    """Outputs mapped to PARENT are forwarded under the new name; an op mapped to PARENT but not wired
    to END still emits its frame; a mapped op forwards only its mapped keys."""
    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        b = split(x=a["y"], outputs={"hi": PARENT["top"]})
        a["y"] >> PARENT["first"]
        START >> a >> b >> END
    frames = [frame("a", first=2), frame("b", top=3)]
    return fixture(g, inputs={"x": 1}, frames=frames, result={"first": 2, "top": 3})


@case
def mapped_output_keyword():
    """A keyword naming an output with a PARENT[...] value maps it; the other output is not forwarded."""
    with GraphOp(name="g") as g:
        s = split(x=PARENT["x"], lo=PARENT["low"])
        START >> s >> END
    return fixture(g, inputs={"x": 5}, frames=[frame("s", low=4)], result={"low": 4})


@case
def forward_all_keys():
    """An op wired to END forwards every key it returns."""
    with GraphOp(name="g") as g:
        s = split(x=PARENT["x"])
        START >> s >> END
    return fixture(g, inputs={"x": 5}, frames=[frame("s", lo=4, hi=6)], result={"lo": 4, "hi": 6})


@case
def dollar_keys_are_not_outputs():
    """A returned key that starts with `$` ("$tags") is never an output or part of a frame."""
    with GraphOp(name="g") as g:
        t = tagged(x=PARENT["x"])
        START >> t >> END
    return fixture(g, inputs={"x": 7}, frames=[frame("t", y=7)], result={"y": 7})


@case
def fan_out_fan_in():
    """One op feeds two, which join in a third that waits for both."""
    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        b = inc(x=a["y"])
        c = scale(x=a["y"], k=3)
        d = add(a=b["y"], b=c["y"])
        START >> a >> [b, c] >> d >> END
    return fixture(g, inputs={"x": 1}, frames=[frame("d", y=9)], result={"y": 9})


@case
def fifo_order():
    """Ready ops run first in, first out: entries in wiring order, then successors behind what is queued
    (`START >> [a, b2]; a >> b1` runs a, b2, b1)."""
    with GraphOp(name="g") as g:
        a = echo(v="a")
        b2 = echo(v="b2")
        b1 = echo(v="b1")
        c = echo(v="c")
        START >> [a, b2]
        a >> b1
        b2 >> c
        [a, b2, b1, c] >> END
    frames = [frame("a", v="a"), frame("b2", v="b2"), frame("b1", v="b1"), frame("c", v="c")]
    return fixture(g, frames=frames, result={"v": ["a", "b2", "b1", "c"]})


@case
def fan_in_after_longer_path():
    """A hard join waits for its slowest predecessor and is queued behind the ops already queued."""
    with GraphOp(name="g") as g:
        p = inc(x=PARENT["x"])
        q = scale(x=PARENT["x"])
        p2 = inc(x=p["y"])
        d = add(a=p2["y"], b=q["y"])
        START >> [p, q]
        p >> p2
        [p2, q] >> d
        [p, q, p2, d] >> END
    frames = [frame("p", y=2), frame("q", y=10), frame("p2", y=3), frame("d", y=13)]
    return fixture(g, inputs={"x": 1}, frames=frames, result={"y": [2, 10, 3, 13]})


@case
def soft_join_first_wins():
    """`a >> ~j; b >> ~j`: j runs once, when its first soft predecessor finishes (queued behind b)."""
    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        b = scale(x=PARENT["x"])
        j = inc(x=a["y"])
        START >> [a, b]
        a >> ~j
        b >> ~j
        [a, b, j] >> END
    frames = [frame("a", y=2), frame("b", y=10), frame("j", y=3)]
    return fixture(g, inputs={"x": 1}, frames=frames, result={"y": [2, 10, 3]})


@case
def soft_join_list_operator():
    """`[b, c] > j`: j fires on c, which finishes before b; b finishing later does not run j again."""
    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        b = inc(x=a["y"])
        c = scale(x=PARENT["x"])
        j = inc(x=c["y"])
        START >> [a, c]
        a >> b
        [b, c] > j
        [a, c, b, j] >> END
    frames = [frame("a", y=2), frame("c", y=10), frame("b", y=3), frame("j", y=11)]
    return fixture(g, inputs={"x": 1}, frames=frames, result={"y": [2, 10, 3, 11]})


@case
def soft_and_hard_predecessors():
    """An op with a hard predecessor and a soft group waits for the hard one and the group's first."""
    with GraphOp(name="g") as g:
        s1 = inc(x=PARENT["x"])
        s2 = scale(x=PARENT["x"])
        h0 = inc(x=PARENT["x"])
        h = inc(x=h0["y"])
        j = add(a=s1["y"], b=h["y"])
        START >> [s1, s2, h0]
        h0 >> h
        [s1, s2] > j
        h >> j
        [s1, s2, h0, h, j] >> END
    frames = [frame("s1", y=2), frame("s2", y=10), frame("h0", y=2), frame("h", y=3), frame("j", y=5)]
    return fixture(g, inputs={"x": 1}, frames=frames, result={"y": [2, 10, 2, 3, 5]})


@case
def literals_and_defaults():
    """Literals bind inputs; a default applies when the input is unbound, absent or None; 0 passes
    through; a None output is kept."""
    with GraphOp(name="g") as g:
        a = scale(x=PARENT["x"])
        b = scale(x=2, k=3)
        c = scale(x=PARENT["x"], k=PARENT["k"])
        d = scale(x=PARENT["x"], k=PARENT["zero"])
        e = echo()
        f = echo(v=PARENT["absent"])
        START >> [a, b, c, d, e, f]
        [a, b, c, d, e, f] >> END
    frames = [frame("a", y=40), frame("b", y=6), frame("c", y=40), frame("d", y=0), frame("e", v=None),
              frame("f", v=None)]
    inputs = {"x": 4, "k": None, "zero": 0}
    return fixture(g, inputs=inputs, frames=frames, result={"y": [40, 6, 40, 0], "v": [None, None]})


@case
def wildcard_inputs():
    """`inputs={"*": PARENT}` binds every parameter to the graph input of its name; unread run inputs
    are ignored."""
    with GraphOp(name="g") as g:
        s = add(inputs={"*": PARENT})
        START >> s >> END
    return fixture(g, inputs={"a": 2, "b": 5, "unused": 1}, frames=[frame("s", y=7)], result={"y": 7})


@case
def transforms_arithmetic():
    """Arithmetic on refs, reflected arithmetic, floor division, Python's modulo of a negative, powers
    and true division."""
    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        b = echo(v=a["y"] * 2 + 1)
        c = echo(v=10 - a["y"])
        d = echo(v=a["y"] // 4)
        e = echo(v=(0 - a["y"]) % 4)
        f = echo(v=a["y"] ** 2)
        h = echo(v=a["y"] / 4)
        START >> a >> [b, c, d, e, f, h] >> END
    frames = [frame("b", v=13), frame("c", v=4), frame("d", v=1), frame("e", v=2), frame("f", v=36),
              frame("h", v=1.5)]
    return fixture(g, inputs={"x": 5}, frames=frames, result={"v": [13, 4, 1, 2, 36, 1.5]})


@case
def transforms_items_and_methods():
    """Item access (keys, negative indexes) and string methods chained on refs."""
    with GraphOp(name="g") as g:
        a = echo(v=PARENT["d"]["k"][-1])
        b = echo(v=PARENT["s"].strip().upper())
        c = echo(v=PARENT["s"].lower())
        START >> [a, b, c]
        [a, b, c] >> END
    frames = [frame("a", v=3), frame("b", v="HI"), frame("c", v=" hi ")]
    inputs = {"d": {"k": [1, 2, 3]}, "s": " Hi "}
    return fixture(g, inputs=inputs, frames=frames, result={"v": [3, "HI", " hi "]})


@case
def transforms_comparisons():
    """Comparisons on refs and their `&` / `|` combinations give booleans."""
    with GraphOp(name="g") as g:
        a = echo(v=PARENT["x"] >= 3)
        b = echo(v=(PARENT["x"] > 1) & (PARENT["x"] < 3))
        c = echo(v=(PARENT["x"] == 0) | (PARENT["x"] != 5))
        START >> [a, b, c]
        [a, b, c] >> END
    frames = [frame("a", v=True), frame("b", v=False), frame("c", v=True)]
    return fixture(g, inputs={"x": 3}, frames=frames, result={"v": [True, False, True]})


@case
def disabled_op():
    """A disabled op does not run, has no frame, and its dependents do not run."""
    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        b = inc(x=a["y"])
        c = scale(x=PARENT["x"])
        START >> [a, c]
        a >> b
        [b, c] >> END
    a.enabled = False
    return fixture(g, inputs={"x": 1}, frames=[frame("c", y=10)], result={"y": 10})


@case
def async_chain():
    """`async def` ops in a chain give what sync ops give."""
    with GraphOp(name="g") as g:
        a = ainc(x=PARENT["x"])
        b = ainc(x=a["y"])
        START >> a >> b
        [a, b] >> END
    return fixture(g, inputs={"x": 1}, frames=[frame("a", y=2), frame("b", y=3)], result={"y": [2, 3]})


@case
def async_fan_out():
    """Independent `async def` ops may finish in any order; the join waits for all of them."""
    with GraphOp(name="g") as g:
        p = ainc(x=PARENT["x"])
        q = ainc(x=p["y"])
        r = ainc(x=p["y"])
        j = add(a=q["y"], b=r["y"])
        START >> p >> [q, r] >> j
        [q, r, j] >> END
    frames = [frame("q", y=3), frame("r", y=3), frame("j", y=6)]
    return fixture(g, inputs={"x": 1}, frames=frames, result={"y": [3, 3, 6]}, ordered=False)
