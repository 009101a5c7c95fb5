"""The flat graphs of tests/test_property.py as operonx objects: the op functions (sync and async ones from
tests/property_ops.py, cpu ones here, each recording the order their bodies start in ORDER), the graph built
from an example (also as the body of a loop, or per item of a stream), and the same graph as operonx source
code for a bug report."""

from __future__ import annotations

import asyncio

from operonx import END, PARENT, START, GraphOp, op

from property_ops import ORDER, Boom, afv, afvw, afw, fv, fvw, fw, start  # noqa: F401 (re-exported)
from reference import GraphSpec

INPUTS = {"x": 3, "y": -2, "z": 100, "nul": None}  # "missing" is never given

@op(bound="cpu")
def cfv(a=0, b=0, c=0, k=1, tag=None, fail=False):
    start(tag, fail)
    return {"v": a + b + c + k}


@op(bound="cpu")
def cfw(a, b=10, k=2, tag=None, fail=False):
    start(tag, fail)
    return {"w": 2 * a + b + k}


@op(bound="cpu")
def cfvw(b, a=5, k=3, tag=None, fail=False):
    start(tag, fail)
    return {"v": a + b + k, "w": a - b + k}


IMPLS = {
    ("fv", "sync"): fv,
    ("fw", "sync"): fw,
    ("fvw", "sync"): fvw,
    ("fv", "async"): afv,
    ("fw", "async"): afw,
    ("fvw", "async"): afvw,
    ("fv", "cpu"): cfv,
    ("fw", "cpu"): cfw,
    ("fvw", "cpu"): cfvw,
}


def build(spec: GraphSpec, statements, looped: int = 0) -> GraphOp:
    """The graph; with ``looped=n``, the same graph as the body of a loop that runs n times."""
    if looped:
        g = GraphOp.loop(name=spec.name, until=None, max_iterations=looped)
        g.concurrency = spec.concurrency
    else:
        g = GraphOp(name=spec.name, concurrency=spec.concurrency)
    with g:
        _body(spec, statements)
    return g


@op
def _two_items():
    yield {"item": 0}
    yield {"item": 1}


def build_per_item(spec: GraphSpec, statements, policy: str) -> GraphOp:
    """The same graph as a nested graph that runs once per item of a two-item stream."""
    with GraphOp(name=spec.name, concurrency=spec.concurrency) as g:
        gen = _two_items(name="gen")
        item = {"seq": gen["item"], "parallel": gen["item"].parallel(), "collect": gen["item"].collect()}[policy]
        inputs = {k: PARENT[k] for k in ("x", "y", "z", "nul", "missing")}
        with GraphOp(name="body", inputs={**inputs, "item": item}) as body:
            _body(spec, statements)
        START >> gen >> body >> END
    return g


def _body(spec: GraphSpec, statements) -> None:
    """The ops and edges of the example, in the current graph."""
    if True:
        nodes = []
        for o in spec.ops:
            kw = {}
            for p, src in o.inputs.items():
                if src[0] == "parent":
                    kw[p] = PARENT[src[1]]
                elif src[0] == "ref":
                    kw[p] = nodes[src[1]][src[2]]
                else:
                    kw[p] = src[1]
            kw["tag"] = o.name
            if o.fail:
                kw["fail"] = True
            if o.kind == "async":
                kw["d"] = o.delay
            nodes.append(IMPLS[o.func, o.kind](name=o.name, **kw))
        for e in spec.entries:
            START >> nodes[e]
        for s in statements:
            if s[0] == "edge":
                _, u, v, soft, alt = s
                if not soft:
                    nodes[u] >> nodes[v]
                elif alt:
                    nodes[u] > nodes[v]
                else:
                    nodes[u] >> ~nodes[v]
            elif s[0] == "fan_in":
                _, us, v, soft = s
                if soft:
                    [nodes[u] for u in us] > nodes[v]
                else:
                    [nodes[u] for u in us] >> nodes[v]
            else:
                _, u, vs = s
                nodes[u] >> [nodes[v] for v in vs]
        for i, o in enumerate(spec.ops):
            if o.to_end:
                nodes[i] >> END


def to_source(spec: GraphSpec, statements, errors: str, looped: int = 0) -> str:
    """The graph as operonx code (with this module's functions), to paste into a bug report."""
    names = [o.name for o in spec.ops]
    cap = "" if spec.concurrency is None else f", concurrency={spec.concurrency}"
    if looped:
        lines = [f'with GraphOp.loop(name="{spec.name}", until=None, max_iterations={looped}) as g:']
        if cap:
            lines.insert(0, f"# and g.concurrency = {spec.concurrency}")
    else:
        lines = [f'with GraphOp(name="{spec.name}"{cap}) as g:']
    for o in spec.ops:
        args = []
        for p, src in o.inputs.items():
            if src[0] == "parent":
                args.append(f'{p}=PARENT["{src[1]}"]')
            elif src[0] == "ref":
                args.append(f'{p}={names[src[1]]}["{src[2]}"]')
            else:
                args.append(f"{p}={src[1]!r}")
        args.append(f'tag="{o.name}"')
        if o.fail:
            args.append("fail=True")
        if o.kind == "async":
            args.append(f"d={o.delay}")
        lines.append(f'    {o.name} = {IMPLS[o.func, o.kind].__name__}({", ".join(args)}, name="{o.name}")')
    for e in spec.entries:
        lines.append(f"    START >> {names[e]}")
    for s in statements:
        if s[0] == "edge":
            _, u, v, soft, alt = s
            op_ = ">>" if not soft else ">" if alt else ">> ~"
            lines.append(f"    {names[u]} {op_}{'' if op_ == '>> ~' else ' '}{names[v]}")
        elif s[0] == "fan_in":
            _, us, v, soft = s
            lines.append(f"    [{', '.join(names[u] for u in us)}] {'>' if soft else '>>'} {names[v]}")
        else:
            _, u, vs = s
            lines.append(f"    {names[u]} >> [{', '.join(names[v] for v in vs)}]")
    ends = [o.name for o in spec.ops if o.to_end]
    lines.append(f"    [{', '.join(ends)}] >> END" if len(ends) > 1 else f"    {ends[0]} >> END")
    lines.append(f"result = await Operon(g).run({INPUTS!r}, errors={errors!r})")
    return "\n".join(lines)
