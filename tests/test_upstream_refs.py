"""An op reads only ops upstream of it: a ref to an op with no path of edges (hard or soft) to its reader
is a GraphValidationError when the engine is built, naming both, instead of a result that depends on the
order of the wiring lines.

Every place a ref can appear is covered by a shape built twice: without the edge that makes the source
upstream (refused) and with it (runs). A hypothesis property checks random DAGs with one extra ref.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from operonx import END, PARENT, START, BranchOp, GraphOp, Operon, op
from operonx.core.ops import if_
from operonx.errors import GraphValidationError

from reference import upstream


@op
def ident(v):
    return {"v": v}


@op
def text(v):
    return {"t": str(v)}


@op
def step(n):
    return {"m": n + 1}


@op
def rename(m):
    return {"n": m}


@op
def count(n):
    for i in range(n):
        yield {"v": i}


@op
def total(xs):
    return {"v": sum(xs)}


def wire(src, dst, wired):
    """``src >> dst`` when wired, else ``dst`` is an entry of its own (so ``src`` is not upstream)."""
    if wired:
        src >> dst
    else:
        START >> dst


def not_upstream(info) -> list[tuple[str, str]]:
    """(reader, op read) of each not_upstream issue, after checking its message names both."""
    found = []
    for e in info.value.result.errors:
        if e.category == "not_upstream":
            assert f"op '{e.op_name}'" in e.message and f"from op '{e.target_name}'" in e.message
            assert f"{e.target_name} >> {e.op_name}" in e.message
            found.append((e.op_name, e.target_name))
    return found


@pytest.mark.parametrize("first", ["a", "b"])
def test_reading_a_sibling_is_refused_whatever_the_wiring_order(first):
    with GraphOp(name="g") as g:
        a = ident(v=PARENT["x"])
        b = ident(v=a["v"])  # reads a, but no path a -> b
        for node in (a, b) if first == "a" else (b, a):
            START >> node >> END
    with pytest.raises(GraphValidationError) as info:
        Operon(g)
    assert not_upstream(info) == [("b", "a")]
    assert len(info.value.result.errors) == 1


# Each shape builds a graph whose `reader` reads `source`; `wired` adds the edge (or path) that makes the
# source upstream. Returns the graph, (reader, source), run inputs and the expected result.


def shape_input(wired):
    with GraphOp(name="g") as g:
        a = ident(v=PARENT["x"])
        b = ident(v=a["v"])
        START >> a
        wire(a, b, wired)
        b >> END
    return g, ("b", "a"), {"x": 7}, {"v": 7}


def shape_operands(wired):
    with GraphOp(name="g") as g:
        a = text(v=PARENT["x"])
        m = ident(v=PARENT["s"].replace("o", a["t"]) + a["t"], name="m")
        START >> a
        wire(a, m, wired)
        m >> END
    return g, ("m", "a"), {"x": 7, "s": "foo"}, {"v": "f777"}


def shape_branch_condition(wired):
    with GraphOp(name="g") as g:
        a = ident(v=PARENT["x"])
        r = if_(a["v"] > 3, "t").else_("f")
        t, f = ident(v=1, name="t"), ident(v=2, name="f")
        START >> a
        wire(a, r, wired)
        r >> [t, f] >> END
    return g, ("r", "a"), {"x": 7}, {"v": 1}


def shape_branch_inputs(wired):
    with GraphOp(name="g") as g:
        a = ident(v=PARENT["x"])
        r = BranchOp(name="r", cases=[(PARENT["y"] > 3, "t")], default="f", inputs={"y": a["v"]})
        t, f = ident(v=1, name="t"), ident(v=2, name="f")
        START >> a
        wire(a, r, wired)
        r >> [t, f] >> END
    return g, ("r", "a"), {"x": 2}, {"v": 2}


def shape_nested_inputs(wired):
    with GraphOp(name="g") as g:
        a = ident(v=PARENT["x"])
        with GraphOp(name="sub", inputs={"q": a["v"]}) as sub:
            START >> ident(v=PARENT["q"], name="i") >> END
        START >> a
        wire(a, sub, wired)
        sub >> END
    return g, ("sub", "a"), {"x": 7}, {"v": 7}


def shape_nested_result(wired):
    with GraphOp(name="g") as g:
        with GraphOp(name="sub", inputs={"q": PARENT["x"]}) as sub:
            START >> ident(v=PARENT["q"], name="i") >> END
        c = ident(v=sub["v"], name="c")
        START >> sub
        wire(sub, c, wired)
        c >> END
    return g, ("c", "sub"), {"x": 7}, {"v": 7}


def shape_inside_nested(wired):
    with GraphOp(name="g") as g:
        with GraphOp(name="sub", inputs={"q": PARENT["x"]}) as sub:
            i = ident(v=PARENT["q"], name="i")
            j = ident(v=i["v"], name="j")
            START >> i
            wire(i, j, wired)
            j >> END
        START >> sub >> END
    return g, ("j", "i"), {"x": 7}, {"v": 7}


def shape_loop_body(wired):
    with GraphOp.loop(name="l", until="n >= 3", max_iterations=5, n=0) as g:
        i = step(n=PARENT["n"], name="i")
        j = rename(m=i["m"], name="j")
        START >> i
        wire(i, j, wired)
        j >> END
    return g, ("j", "i"), {}, {"n": 3}


def shape_loop_initial(wired):
    with GraphOp(name="g") as g:
        a = ident(v=PARENT["x"])
        with GraphOp.loop(name="l", until="n >= 3", max_iterations=5, n=a["v"]) as lp:
            i = step(n=PARENT["n"], name="i")
            START >> i >> rename(m=i["m"], name="j") >> END
        START >> a
        wire(a, lp, wired)
        lp >> END
    return g, ("l", "a"), {"x": 0}, {"n": 3}


def shape_items(policy):
    def shape(wired):
        with GraphOp(name="g") as g:
            s = count(n=PARENT["x"], name="s")
            ref = s["v"] if policy is None else getattr(s["v"], policy)()
            c = total(xs=ref, name="c") if policy == "collect" else ident(v=ref, name="c")
            START >> s
            wire(s, c, wired)
            c >> END
        expected = {"v": 3} if policy == "collect" else {"v": [0, 1, 2]}
        return g, ("c", "s"), {"x": 3}, expected

    return shape


def shape_binding(wired):
    with GraphOp(name="g") as g:
        a = ident(v=PARENT["x"])
        b = ident(name="b")
        a["v"] >> b["v"]  # binds the input, adds no edge
        START >> a
        wire(a, b, wired)
        b >> END
    return g, ("b", "a"), {"x": 7}, {"v": 7}


SHAPES = {
    "input": shape_input,
    "operands": shape_operands,
    "branch_condition": shape_branch_condition,
    "branch_inputs": shape_branch_inputs,
    "nested_inputs": shape_nested_inputs,
    "nested_result": shape_nested_result,
    "inside_nested": shape_inside_nested,
    "loop_body": shape_loop_body,
    "loop_initial": shape_loop_initial,
    "items": shape_items(None),
    "parallel_items": shape_items("parallel"),
    "collect": shape_items("collect"),
    "binding": shape_binding,
}


@pytest.mark.parametrize("name", SHAPES)
def test_a_ref_must_read_an_op_upstream(name):
    g, pair, _, _ = SHAPES[name](wired=False)
    with pytest.raises(GraphValidationError) as info:
        Operon(g)
    assert not_upstream(info) == [pair]


@pytest.mark.parametrize("name", SHAPES)
def test_the_same_ref_runs_once_its_source_is_upstream(name):
    g, _, inputs, expected = SHAPES[name](wired=True)
    result = Operon(g).run_sync(inputs)
    assert {k: result[k] for k in expected} == expected


def test_reading_a_downstream_op_is_refused():
    with GraphOp(name="g") as g:
        b = ident(v=PARENT["x"], name="b")
        a = ident(v=b["v"], name="a")
        START >> a >> b >> END
    with pytest.raises(GraphValidationError) as info:
        Operon(g)
    assert not_upstream(info) == [("a", "b")]


@st.composite
def dags_with_a_ref(draw):
    """A DAG of ops (edges from a lower to a higher index, some soft) and one ref (reader, source)."""
    n = draw(st.integers(2, 12))
    edges = [(u, v, draw(st.booleans())) for v in range(1, n) for u in range(v) if draw(st.integers(0, 3)) == 0]
    up = upstream(n, edges)
    reader = draw(st.integers(0, n - 1))
    choices = [j for j in range(n) if j != reader]
    if up[reader] and draw(st.booleans()):
        choices = sorted(up[reader])
    return n, edges, reader, draw(st.sampled_from(choices)), up


@settings(max_examples=150, deadline=None)
@given(dags_with_a_ref(), st.randoms(use_true_random=False))
def test_random_dags_build_exactly_when_every_ref_reads_upstream(case, rnd):
    n, edges, reader, source, up = case
    with GraphOp(name="g") as g:
        nodes = {i: ident(v=PARENT["x"], name=f"n{i}") for i in range(n) if i != reader}
        nodes[reader] = ident(v=nodes[source]["v"], name=f"n{reader}")
        lines = list(edges)
        rnd.shuffle(lines)  # the wiring order must not matter
        for u, v, s in lines:
            if s:
                nodes[u] > nodes[v]
            else:
                nodes[u] >> nodes[v]
        for v in range(n):
            if not any(e[1] == v for e in edges):
                START >> nodes[v]
            nodes[v] >> END
    if source in up[reader]:
        Operon(g)
    else:
        with pytest.raises(GraphValidationError) as info:
            Operon(g)
        assert not_upstream(info) == [(f"n{reader}", f"n{source}")]
