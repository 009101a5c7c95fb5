"""Every op is reached from START: an op no path of edges (hard or soft) from its graph's START reaches
would never run (0.7.1 skips it with a warning), so building the engine raises GraphValidationError
naming it, its graph and the fix.

The check lives once, in the core: authoring such a graph (and exporting its document) still works;
`Operon(g)` refuses it. Inside a nested graph or a loop, an op is reached from that graph's own START,
and the nested graph must itself be reached in its parent. Only the static graph counts: ops a branch
or a failure skips at run time are reached. A hypothesis property checks random DAGs.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from operonx import END, PARENT, START, GraphOp, Operon, graph, op
from operonx.core.ops import if_
from operonx.errors import GraphError, GraphValidationError

from reference import unreached


@op
def ident(v):
    return {"v": v}


@op
def step(n):
    return {"n": n + 1}


def refused(g) -> list[tuple[str, str]]:
    """(op, graph) of each issue of building ``g``, after checking each is an ``unreachable`` issue whose
    message names the op, its graph and the fix."""
    with pytest.raises(GraphValidationError) as info:
        Operon(g)
    assert isinstance(info.value, GraphError) and isinstance(info.value, ValueError)
    assert info.value.errors == info.value.result.errors and not info.value.result.valid
    found = []
    for e in info.value.result.errors:
        assert e.category == "unreachable", e
        assert e.message.startswith(f"op '{e.op_name}' of graph '"), e.message
        assert f"START >> {e.op_name}" in e.message and "remove it" in e.message, e.message
        graph_name = e.message.split("of graph '", 1)[1].split("'", 1)[0]
        found.append((e.op_name, graph_name))
        assert e.target_name is None
    return found


def test_an_op_nothing_wires_is_refused_naming_it():
    with GraphOp(name="g") as g:
        a = ident(v=PARENT["x"], name="a")
        lonely = ident(v=PARENT["x"], name="lonely")
        START >> a >> END
        lonely >> END
    assert refused(g) == [("lonely", "g")]
    text = str(pytest.raises(GraphValidationError, Operon, g).value)
    assert "op 'lonely' of graph 'g' is unreachable" in text


def test_authoring_and_export_accept_it_and_the_fixed_graph_builds():
    # GraphOp authoring does not check reachability (the core does, once): the graph and its document
    # are made; the engine refuses it; wiring the op from START then builds and runs it.
    with GraphOp(name="g") as g:
        a = ident(v=PARENT["x"], name="a")
        lonely = step(n=PARENT["x"], name="lonely")
        START >> a >> END
        lonely >> END
    assert g.serialize()["entries"] == ["a"]
    assert refused(g) == [("lonely", "g")]
    START >> lonely
    assert Operon(g).run_sync({"x": 1})["n"] == 2


def test_ops_behind_an_unreached_op_are_named_and_one_reached_another_way_is_not():
    with GraphOp(name="g") as g:
        a = ident(v=PARENT["x"], name="a")
        u = ident(v=PARENT["x"], name="u")
        v = ident(v=u["v"], name="v")
        w = ident(v=a["v"], name="w")  # waits for u too, but a reaches it
        START >> a >> w >> END
        u >> v >> END
        u >> w
    assert refused(g) == [("u", "g"), ("v", "g")]


def skipping_graph(with_orphan):
    """A soft path, a branch, a disabled op and what follows them; plus an op nothing wires."""
    with GraphOp(name="g") as g:
        a = ident(v=PARENT["x"], name="a")
        j = ident(v=a["v"], name="j")
        r = if_(PARENT["x"] > 100, "big").else_("small")
        big, small = ident(v=1, name="big"), ident(v=2, name="small")
        after_big = ident(v=big["v"], name="after_big")
        off = step(n=PARENT["x"], name="off")
        off.enabled = False
        behind_off = step(n=PARENT["x"], name="behind_off")
        START >> [a, r, off]
        a >> ~j  # a soft path
        j >> END
        r >> [big, small]
        big >> after_big >> END  # behind the target the branch does not take
        small >> END
        off >> behind_off >> END  # behind a disabled op
        if with_orphan:
            ident(v=PARENT["x"], name="lonely") >> END
    return g


def test_soft_paths_and_ops_skipped_at_run_time_are_reached():
    result = Operon(skipping_graph(with_orphan=False)).run_sync({"x": 5})
    assert result["v"] == [5, 2]
    assert "n" not in result
    # with an op nothing wires, it alone is named (not the ops the run would skip)
    assert refused(skipping_graph(with_orphan=True)) == [("lonely", "g")]


def test_an_op_of_a_nested_graph_is_reached_from_its_own_start():
    with GraphOp(name="g") as g:
        with GraphOp(name="sub", inputs={"q": PARENT["x"]}) as sub:
            i = ident(v=PARENT["q"], name="i")
            j = ident(v=PARENT["q"], name="j")  # not wired inside sub
            START >> i >> END
            j >> END
        START >> sub >> END
    assert refused(g) == [("j", "g.sub")]


def test_a_nested_graph_nothing_wires_is_named_not_its_ops():
    with GraphOp(name="g") as g:
        a = ident(v=PARENT["x"], name="a")
        with GraphOp(name="sub", inputs={"q": PARENT["x"]}) as sub:
            i = ident(v=PARENT["q"], name="i")
            START >> i >> END
        START >> a >> END
        sub >> END
    assert refused(g) == [("sub", "g")]


def test_two_levels_down():
    with GraphOp(name="g") as g:
        with GraphOp(name="sub", inputs={"q": PARENT["x"]}) as sub:
            with GraphOp(name="deep", inputs={"q": PARENT["q"]}) as deep:
                x = ident(v=PARENT["q"], name="x")
                y = ident(v=PARENT["q"], name="y")
                START >> x >> END
                y >> END
            START >> deep >> END
        START >> sub >> END
    assert refused(g) == [("y", "g.sub.deep")]


def test_an_op_of_a_loop_body_is_reached_from_the_loops_start():
    with GraphOp.loop(name="lp", until="n >= 3", max_iterations=5, n=0) as root_loop:
        i = step(n=PARENT["n"], name="i")
        j = step(n=PARENT["n"], name="j")
        START >> i >> END
        j >> END
    assert refused(root_loop) == [("j", "lp")]

    with GraphOp(name="g") as g:
        with GraphOp.loop(name="lp", until="n >= 3", max_iterations=5, n=PARENT["x"]) as lp:
            i = step(n=PARENT["n"], name="i")
            j = step(n=PARENT["n"], name="j")
            START >> i >> END
            j >> END
        START >> lp >> END
    assert refused(g) == [("j", "g.lp")]
    START >> j  # inside the loop
    assert Operon(g).run_sync({"x": 0})["n"] == 3


def test_a_graph_factory_node_is_checked_like_any_nested_graph():
    @graph(name="body")
    def body(q):
        i = ident(v=q, name="i")
        START >> i >> END
        ident(v=q, name="stray") >> END

    with GraphOp(name="g") as g:
        b = body(q=PARENT["x"])
        START >> b >> END
    assert refused(g) == [("stray", "g.body")]


@st.composite
def dags(draw):
    """A DAG of ops (edges from a lower to a higher index, some soft) and its entries: mostly the ops
    with no predecessor, sometimes not, sometimes others."""
    n = draw(st.integers(1, 14))
    edges = [(u, v, draw(st.booleans())) for v in range(1, n) for u in range(v) if draw(st.integers(0, 4)) == 0]
    has_pred = {v for _, v, _ in edges}
    entries = [v for v in range(n) if draw(st.integers(0, 9)) < (8 if v not in has_pred else 1)]
    return n, edges, entries or [0]


@settings(max_examples=150, deadline=None)
@given(dags(), st.sampled_from(["root", "nested", "loop"]))
def test_random_dags_build_exactly_when_every_op_is_reached(case, where):
    n, edges, entries = case

    def body():
        nodes = [ident(v=PARENT["x"], name=f"n{i}") for i in range(n)]
        for u, v, soft in edges:
            if soft:
                nodes[u] > nodes[v]
            else:
                nodes[u] >> nodes[v]
        for e in entries:
            START >> nodes[e]
        for node in nodes:
            node >> END

    full = "g" if where == "root" else "g.sub"
    with GraphOp(name="g") as g:
        if where == "root":
            body()
        else:
            if where == "loop":
                sub = GraphOp.loop(name="sub", until=None, max_iterations=2, x=PARENT["x"])
            else:
                sub = GraphOp(name="sub", inputs={"x": PARENT["x"]})
            with sub:
                body()
            START >> sub >> END
    missing = unreached(n, entries, edges)
    if missing:
        assert refused(g) == [(f"n{v}", full) for v in missing]
    else:
        Operon(g)


def test_an_explicitly_disabled_op_and_what_follows_it_are_not_refused():
    with GraphOp(name="g") as g:
        a = ident(v=PARENT["x"], name="a")
        parked = ident(v=PARENT["x"], name="parked")
        parked.enabled = False
        after = ident(v=parked["v"], name="after")
        START >> a >> END
        parked >> after >> END
    assert Operon(g).run_sync({"x": 1})["v"] == 1
    with GraphOp(name="h") as h:
        a = ident(v=PARENT["x"], name="a")
        parked = ident(v=PARENT["x"], name="parked")
        parked.enabled = False
        START >> a >> END
        parked >> END
        ident(v=PARENT["x"], name="lonely") >> END
    assert refused(h) == [("lonely", "h")]
