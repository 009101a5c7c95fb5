"""Fixtures of branches and nested graphs."""

from __future__ import annotations

from operonx import END, PARENT, START, BranchOp, GraphOp
from operonx.core.ops import if_

from conformance.fixture import case, echo, fixture, frame, inc, scale, split


def router_graph(default: bool = True) -> GraphOp:
    """`router` picks hi (score >= 90), mid (score >= 50 and kind == 'x') or lo; t and m are mapped."""
    with GraphOp(name="g") as g:
        chain = if_(PARENT["score"] >= 90, "hi").if_((PARENT["score"] >= 50) & (PARENT["kind"] == "x"), "mid")
        if default:
            router = chain.else_("lo")
        else:
            router = chain.build()
        hi = echo(v="hi")
        mid = echo(v="mid")
        START >> router >> [hi, mid]
        [hi, mid] >> END
        if default:
            lo = echo(v="lo")
            router >> lo >> END
        router["target"] >> PARENT["t"]
        router["matched"] >> PARENT["m"]
    return g


@case
def branch_first_case():
    """The first case that holds picks its target; the branch's mapped frame comes before the target's."""
    frames = [frame("router", t="hi", m="score >= 90"), frame("hi", v="hi")]
    result = {"t": "hi", "m": "score >= 90", "v": "hi"}
    return fixture(router_graph(), inputs={"score": 95, "kind": "x"}, frames=frames, result=result)


@case
def branch_second_case_with_and():
    """A later case whose `&` condition holds; `matched` is the case's text."""
    text = "score >= 50 and kind == 'x'"
    frames = [frame("router", t="mid", m=text), frame("mid", v="mid")]
    result = {"t": "mid", "m": text, "v": "mid"}
    return fixture(router_graph(), inputs={"score": 60, "kind": "x"}, frames=frames, result=result)


@case
def branch_default():
    """No case holds: the default runs and `matched` is "default"."""
    frames = [frame("router", t="lo", m="default"), frame("lo", v="lo")]
    result = {"t": "lo", "m": "default", "v": "lo"}
    return fixture(router_graph(), inputs={"score": 60, "kind": "y"}, frames=frames, result=result)


@case
def branch_no_match_no_default():
    """No case holds and there is no default: no target runs; target and matched are None."""
    frames = [frame("router", t=None, m=None)]
    return fixture(router_graph(default=False), inputs={"score": 10, "kind": "y"}, frames=frames,
                   result={"t": None, "m": None})


@case
def branch_condition_that_raises():
    """A condition over a missing input cannot be evaluated: it counts as not matched."""
    frames = [frame("router", t="lo", m="default"), frame("lo", v="lo")]
    result = {"t": "lo", "m": "default", "v": "lo"}
    return fixture(router_graph(), inputs={"kind": "x"}, frames=frames, result=result)


@case
def branch_or_condition():
    """A `|` condition holds when either side does."""
    with GraphOp(name="g") as g:
        router = if_((PARENT["a"] > 5) | (PARENT["b"] > 5), "yes").else_("no")
        yes = echo(v="yes")
        no = echo(v="no")
        START >> router >> [yes, no] >> END
        router["matched"] >> PARENT["m"]
    frames = [frame("router", m="a > 5 or b > 5"), frame("yes", v="yes")]
    return fixture(g, inputs={"a": 1, "b": 9}, frames=frames, result={"m": "a > 5 or b > 5", "v": "yes"})


@case
def branch_skip_propagates():
    """The target not chosen is skipped with its hard successors; a soft join of both targets fires."""
    with GraphOp(name="g") as g:
        router = if_(PARENT["go"] == 1, "left").else_("right")
        left = echo(v="left")
        right = echo(v="right")
        after_left = echo(v=left["v"])
        joined = echo(v="joined")
        START >> router >> [left, right]
        left >> after_left
        left >> ~joined
        right >> ~joined
        [after_left, right, joined] >> END
    frames = [frame("right", v="right"), frame("joined", v="joined")]
    return fixture(g, inputs={"go": 2}, frames=frames, result={"v": ["right", "joined"]})


@case
def branch_chained():
    """A branch whose target is another branch: the inner one picks among its own targets."""
    with GraphOp(name="g") as g:
        outer = if_(PARENT["x"] > 0, "pos").else_("neg")
        pos = if_(PARENT["x"] > 10, "big").else_("small")
        neg = echo(v="neg")
        big = echo(v="big")
        small = echo(v="small")
        START >> outer >> [pos, neg]
        pos >> [big, small]
        [neg, big, small] >> END
    return fixture(g, inputs={"x": 5}, frames=[frame("small", v="small")], result={"v": "small"})


@case
def branch_op_with_inputs():
    """`BranchOp(inputs=...)`: its conditions read its own inputs through PARENT."""
    with GraphOp(name="g") as g:
        src = inc(x=PARENT["x"])
        router = BranchOp(name="router", cases=[(PARENT["s"] > 5, "big")], default="small", inputs={"s": src["y"]})
        big = inc(x=src["y"], name="big")
        small = scale(x=src["y"], name="small")
        START >> src >> router >> [big, small] >> END
    return fixture(g, inputs={"x": 10}, frames=[frame("big", y=12)], result={"y": 12})


@case
def nested_graph():
    """A nested graph reads its inputs through PARENT, emits one frame under its own name (its inner ops
    none), and the outer graph reads its outputs."""
    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        with GraphOp(name="sub", inputs={"v": a["y"]}) as sub:
            p = scale(x=PARENT["v"], k=3)
            START >> p >> END
        b = inc(x=sub["y"])
        START >> a >> sub >> b
        [sub, b] >> END
    return fixture(g, inputs={"x": 1}, frames=[frame("sub", y=6), frame("b", y=7)], result={"y": [6, 7]})


@case
def nested_later_forward_wins():
    """Two inner ops forward the same key: the value forwarded later wins, whatever the wiring order."""
    with GraphOp(name="g") as g:
        with GraphOp(name="sub", inputs={"v": PARENT["x"]}) as sub:
            p = inc(x=PARENT["v"])
            q = scale(x=p["y"])
            START >> p >> q
            q >> END
            p >> END
        START >> sub >> END
    return fixture(g, inputs={"x": 1}, frames=[frame("sub", y=20)], result={"y": 20})


@case
def nested_mapped_outputs():
    """Inner outputs mapped to PARENT become the nested graph's outputs under the new names."""
    with GraphOp(name="g") as g:
        with GraphOp(name="sub", inputs={"v": PARENT["x"]}) as sub:
            s = split(x=PARENT["v"], lo=PARENT["low"])
            q = inc(x=s["hi"], outputs={"y": PARENT["out"]})
            START >> s >> q >> END
        b = inc(x=sub["out"])
        START >> sub >> b >> END
        sub["low"] >> PARENT["low"]
    frames = [frame("sub", low=4), frame("b", y=8)]
    return fixture(g, inputs={"x": 5}, frames=frames, result={"low": 4, "y": 8})


@case
def nested_two_levels():
    """A graph nested in a nested graph: only the outermost nested graph emits a frame."""
    with GraphOp(name="g") as g:
        with GraphOp(name="mid", inputs={"v": PARENT["x"]}) as mid:
            with GraphOp(name="inner", inputs={"w": PARENT["v"]}) as inner:
                p = inc(x=PARENT["w"])
                START >> p >> END
            q = scale(x=inner["y"])
            START >> inner >> q >> END
        START >> mid >> END
    return fixture(g, inputs={"x": 1}, frames=[frame("mid", y=20)], result={"y": 20})


@case
def nested_graphs_side_by_side():
    """Two nested graphs run from one input and join in an outer op."""
    with GraphOp(name="g") as g:
        with GraphOp(name="left", inputs={"v": PARENT["x"]}) as left:
            p = inc(x=PARENT["v"], outputs={"y": PARENT["l"]})
            START >> p >> END
        with GraphOp(name="right", inputs={"v": PARENT["x"]}) as right:
            q = scale(x=PARENT["v"], outputs={"y": PARENT["r"]})
            START >> q >> END
        j = echo(v=left["l"] + right["r"])
        START >> [left, right] >> j >> END
    return fixture(g, inputs={"x": 2}, frames=[frame("j", v=23)], result={"v": 23})


@case
def branch_inside_nested_graph():
    """A branch inside a nested graph picks among the nested graph's ops."""
    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        with GraphOp(name="sub", inputs={"v": a["y"]}) as sub:
            r = if_(PARENT["v"] >= 5, "big").else_("small")
            big = echo(v="big")
            small = echo(v="small")
            START >> r >> [big, small] >> END
        START >> a >> sub >> END
    return fixture(g, inputs={"x": 4}, frames=[frame("sub", v="big")], result={"v": "big"})


@case
def nested_graph_not_taken():
    """A nested graph that is a branch target not chosen does not run: no frame, its successors skipped."""
    with GraphOp(name="g") as g:
        router = if_(PARENT["x"] > 0, "sub").else_("other")
        with GraphOp(name="sub", inputs={"v": PARENT["x"]}) as sub:
            p = inc(x=PARENT["v"])
            START >> p >> END
        other = echo(v="other")
        after = inc(x=sub["y"])
        START >> router >> [sub, other]
        sub >> after
        [sub, after, other] >> END
    return fixture(g, inputs={"x": -1}, frames=[frame("other", v="other")], result={"v": "other"})


@case
def branch_on_op_output():
    """A condition that reads another op's output."""
    with GraphOp(name="g") as g:
        a = inc(x=PARENT["x"])
        router = if_(a["y"] > 3, "big").else_("small")
        big = echo(v="big")
        small = echo(v="small")
        START >> a >> router >> [big, small] >> END
    return fixture(g, inputs={"x": 3}, frames=[frame("big", v="big")], result={"v": "big"})


@case
def branch_hard_join_of_both_targets():
    """A hard join of every target of a branch is skipped: the target not chosen never finishes."""
    with GraphOp(name="g") as g:
        router = if_(PARENT["x"] > 0, "p").else_("q")
        p = echo(v="p")
        q = echo(v="q")
        j = echo(v="joined")
        START >> router >> [p, q] >> j
        [p, j] >> END
    return fixture(g, inputs={"x": 1}, frames=[frame("p", v="p")], result={"v": "p"})


def anchored_router() -> GraphOp:
    """`router` has cases a (x > 0) and c (x > 100), default b, and an `anchor` input read from `pick`."""
    with GraphOp(name="g") as g:
        cases = [(PARENT["x"] > 0, "a"), (PARENT["x"] > 100, "c")]
        router = BranchOp(name="router", cases=cases, default="b", inputs={"anchor": PARENT["pick"]})
        a = echo(v="a")
        b = echo(v="b")
        c = echo(v="c")
        START >> router >> [a, b, c] >> END
        router["target"] >> PARENT["t"]
        router["matched"] >> PARENT["m"]
    return g


@case
def branch_anchor_forces_target():
    """A truthy `anchor` input forces its value as the target, whatever the cases say;
    `matched` is "anchor"."""
    frames = [frame("router", t="c", m="anchor"), frame("c", v="c")]
    result = {"t": "c", "m": "anchor", "v": "c"}
    return fixture(anchored_router(), inputs={"x": 1, "pick": "c"}, frames=frames, result=result)


@case
def branch_falsy_anchor_lets_the_cases_decide():
    """An empty `anchor` is falsy: the first case that holds picks the target."""
    frames = [frame("router", t="a", m="x > 0"), frame("a", v="a")]
    result = {"t": "a", "m": "x > 0", "v": "a"}
    return fixture(anchored_router(), inputs={"x": 1, "pick": ""}, frames=frames, result=result)


@case
def branch_missing_anchor_lets_the_cases_decide():
    """No `pick` run input: the anchor is absent, and with no case holding the default runs."""
    frames = [frame("router", t="b", m="default"), frame("b", v="b")]
    result = {"t": "b", "m": "default", "v": "b"}
    return fixture(anchored_router(), inputs={"x": -1}, frames=frames, result=result)


@case
def nested_graph_absent_input_takes_default():
    """A nested graph input whose source is absent reads as None inside, so the reader's default
    applies."""
    with GraphOp(name="g") as g:
        with GraphOp(name="sub", inputs={"v": PARENT["missing"]}) as sub:
            p = scale(x=2, k=PARENT["v"])
            START >> p >> END
        START >> sub >> END
    return fixture(g, frames=[frame("sub", y=20)], result={"y": 20})


def pushed_join_graph() -> GraphOp:
    """Two branch targets push their `v` into the same input of `fin`, a soft join behind both."""
    with GraphOp(name="g") as g:
        router = if_(PARENT["x"] > 0, "pos").else_("neg")
        pos = echo(v="pos")
        neg = echo(v="neg")
        fin = echo()
        pos["v"] >> fin["v"]
        neg["v"] >> fin["v"]
        START >> router >> [pos, neg]
        pos >> ~fin
        neg >> ~fin
        fin >> END
    return g


@case
def pushed_input_takes_the_branch_that_ran():
    """`a["k"] >> fin["v"]` from two producers: `fin` reads the one that ran (the positive side)."""
    return fixture(pushed_join_graph(), inputs={"x": 1}, frames=[frame("fin", v="pos")], result={"v": "pos"})


@case
def pushed_input_takes_the_other_branch():
    """The same graph, the other side taken: the second producer's value reaches `fin`."""
    return fixture(pushed_join_graph(), inputs={"x": -1}, frames=[frame("fin", v="neg")], result={"v": "neg"})
