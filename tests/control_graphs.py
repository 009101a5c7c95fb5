"""The graphs of tests/test_property_control.py as operonx objects: the op functions (from
tests/property_ops.py), a drawn graph tree written as operonx source code and built by running that code,
and a bounded engine run."""

from __future__ import annotations

import asyncio
import sys

from operonx import END, PARENT, START, BranchOp, GraphOp, op
from operonx.core.ops import if_

from property_ops import ORDER, Boom, afv, afvw, afw, fv, fvw, fw  # noqa: F401 (re-exported)
from reference_conditions import condition_text
from reference_control import Graph, own_inputs

RUN_TIMEOUT = 5.0

IMPLS = {("fv", "sync"): fv, ("fw", "sync"): fw, ("fvw", "sync"): fvw,
         ("fv", "async"): afv, ("fw", "async"): afw, ("fvw", "async"): afvw}
NAMESPACE = {f.__name__: f for f in IMPLS.values()}
NAMESPACE.update(START=START, END=END, PARENT=PARENT, GraphOp=GraphOp, BranchOp=BranchOp, if_=if_)


def _src(nodes, src):
    if src[0] == "parent":
        return f'PARENT["{src[1]}"]'
    if src[0] == "ref":
        return f'{nodes[src[1]].name}["{src[2]}"]'
    return repr(src[1])


def _cond(nodes, c, own=None):
    if c[0] == "cmp":
        _, src, sym, const = c
        text = f'PARENT["{own[src]}"]' if own else _src(nodes, src)
        return f"({text} {sym} {const!r})"
    return f"({_cond(nodes, c[1], own)} {'&' if c[0] == 'and' else '|'} {_cond(nodes, c[2], own)})"


def to_source(graph: Graph, inputs: dict, errors: str) -> str:
    lines: list[str] = []

    def scope(g: Graph, pad: str, header: str) -> None:
        lines.append(pad + header)
        pad += "    "
        nodes = g.nodes
        for node in nodes:
            if node.kind == "op":
                args = [f"{p}={_src(nodes, s)}" for p, s in node.inputs.items()]
                args.append(f'tag="{node.name}"')
                if node.fail:
                    args.append("fail=True")
                if node.mode == "async":
                    args.append(f"d={node.delay}")
                impl = IMPLS[node.func, node.mode].__name__
                lines.append(f'{pad}{node.name} = {impl}({", ".join(args)}, name="{node.name}")')
            elif node.kind == "router":
                if node.style == "branchop":
                    own = own_inputs(node)
                    cases = ", ".join(f'({_cond(nodes, c, own)}, "{nodes[t].name}")' for c, t in node.cases)
                    default = "None" if node.default is None else f'"{nodes[node.default].name}"'
                    ins = ", ".join(f'"{name}": {_src(nodes, s)}' for s, name in own.items())
                    lines.append(f'{pad}{node.name} = BranchOp(name="{node.name}", cases=[{cases}], '
                                 f"default={default}, inputs={{{ins}}})")
                else:
                    chain = ".".join(f'if_({_cond(nodes, c)}, "{nodes[t].name}")' for c, t in node.cases)
                    end = (f'build(name="{node.name}")' if node.default is None
                           else f'else_("{nodes[node.default].name}", name="{node.name}")')
                    lines.append(f"{pad}{node.name} = {chain}.{end}")
            else:
                if node.loop is not None:
                    until, max_iterations = node.loop
                    ins = ", ".join(f"{k}={_src(nodes, s)}" for k, s in node.inputs.items())
                    text = None if until is None else condition_text(until)
                    scope(node.sub, pad, f'with GraphOp.loop(name="{node.name}", until={text!r}, '
                                         f'max_iterations={max_iterations}, {ins}) as {node.name}:')
                    continue
                ins = ", ".join(f'"{k}": {_src(nodes, s)}' for k, s in node.inputs.items())
                scope(node.sub, pad, f'with GraphOp(name="{node.name}", inputs={{{ins}}}) as {node.name}:')
        for e in g.entries:
            lines.append(f"{pad}START >> {nodes[e].name}")
        k = 0
        edges = g.edges
        while k < len(edges):
            u, v, soft = edges[k]
            j = k + 1
            if not soft and g.syntax.get("fan_out"):
                while j < len(edges) and edges[j][0] == u and not edges[j][2]:
                    j += 1
            if j - k > 1:
                lines.append(f"{pad}{nodes[u].name} >> [{', '.join(nodes[e[1]].name for e in edges[k:j])}]")
            elif not soft:
                lines.append(f"{pad}{nodes[u].name} >> {nodes[v].name}")
            elif g.syntax.get((u, v, soft)) == "alt":
                lines.append(f"{pad}{nodes[u].name} > {nodes[v].name}")
            else:
                lines.append(f"{pad}{nodes[u].name} >> ~{nodes[v].name}")
            k = j
        for node in nodes:
            if node.to_end:
                lines.append(f"{pad}{node.name} >> END")
            for key, name in node.out_map.items():
                lines.append(f'{pad}{node.name}["{key}"] >> PARENT["{name}"]')

    if graph.loop is not None:
        until, max_iterations = graph.loop
        text = None if until is None else condition_text(until)
        scope(graph, "", f'with GraphOp.loop(name="{graph.name}", until={text!r}, max_iterations={max_iterations}) as g:')
    else:
        scope(graph, "", f'with GraphOp(name="{graph.name}") as g:')
    lines.append(f"result = await Operon(g).run({inputs!r}, errors={errors!r})")
    return "\n".join(lines)


def build(source: str) -> GraphOp:
    ns = dict(NAMESPACE)
    exec(source.rsplit("\n", 1)[0], ns)  # everything but the run line
    return ns["g"]


def walk(graph: Graph, path: str):
    """(full name, node, graph) for every node of the tree."""
    for node in graph.nodes:
        yield f"{path}.{node.name}", node, graph
        if node.kind == "graph":
            yield from walk(node.sub, f"{path}.{node.name}")


_reported_hang = False


def run_engine(coro_fn, source):
    """``coro_fn()`` on a fresh event loop, within RUN_TIMEOUT; a run that hangs fails, and the first one
    also goes to stderr with its source."""
    global _reported_hang
    ORDER.clear()
    try:
        return asyncio.run(asyncio.wait_for(coro_fn(), RUN_TIMEOUT))
    except (asyncio.TimeoutError, TimeoutError):
        if not _reported_hang:
            _reported_hang = True
            print(f"engine run did not finish within {RUN_TIMEOUT} s:\n{source}", file=sys.stderr)
        raise AssertionError(f"engine run did not finish within {RUN_TIMEOUT} s") from None
