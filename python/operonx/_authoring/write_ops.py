"""The per-kind parts of the document: a code op, a branch op, a nested graph's head and a graph's edges.

Each is a function of the :class:`~operonx._authoring.writer.Writer` writing it (bound there as a
method, so writing an op costs what it did as a method of the writer): it writes refs and host
objects through the writer and records the graph outputs it writes in ``w.writes``.
:func:`edges_text` needs only the graph.
"""

from __future__ import annotations

from json.encoder import encode_basestring as _q
from typing import Any

from operonx._authoring.external import ExternalCall, executor_of
from operonx.refs import AnyOf, Ref

__all__ = [
    "BRANCH_OUTPUTS",
    "OPTIONAL",
    "UNBOUND_TXT",
    "any_of",
    "binding",
    "branch_op",
    "calls_text",
    "code_op",
    "edges_text",
    "external_text",
    "fixed_outputs",
    "graph_node_head",
    "extras_text",
    "importable",
    "mapped_outputs",
    "mapped_text",
    "other_binding",
    "outputs_text",
    "spec_doc",
]

#: how an input of a branch counts as a graph-input read: optional, no default
OPTIONAL = [True, None]
BRANCH_OUTPUTS = ("target", "matched")

UNBOUND_TXT = '{"required":false,"default":null,"ref":null}'


def outputs_text(keys: Any) -> str:
    if not keys:
        return ""
    return ",".join([_q(k) + ":" + UNBOUND_TXT for k in keys])


def mapped_text(gname: str, target: str) -> str:
    return (
        '{"required":false,"default":null,"ref":{"source":"' + gname + '","var":'
        + _q(target) + ',"transforms":[],"is_output":false}}'
    )



def any_of(w: Any, v: AnyOf, default: Any) -> str:
    """The binding of an input several producers push into: ``"refs"``, the first with a value wins."""
    return '"ref":null,"refs":[' + ",".join([w.ref(r, default) for r in v.refs]) + "]"


def spec_doc(w: Any, spec: Any) -> tuple:
    got = w.specs.get(id(spec))
    if got is not None and got[0] is spec:
        return got
    defaults = spec.defaults
    heads: dict[str, str] = {}
    unbound: dict[str, str] = {}
    pdefault: dict[str, list | None] = {}
    for p in spec.params:
        if p in defaults:
            heads[p] = f'{_q(p)}:{{"required":false,"default":{w.shared(defaults[p])},'
            pdefault[p] = [True, defaults[p]]
        else:
            heads[p] = f'{_q(p)}:{{"required":true,"default":null,'
            pdefault[p] = None
        unbound[p] = heads[p] + '"ref":null}'
    outs = spec.outputs
    static = (
        f'"func_name":{_q(spec.qualname)}' + (f',"module":{_q(spec.module)}' if importable(spec.module) else ""),
        f'"is_async":{"true" if spec.is_async else "false"},'
        f'"is_generator":{"true" if spec.is_gen else "false"}',
    )
    got = (
        spec, heads, unbound, pdefault, ",".join(unbound.values()), static,
        w.shared(spec.func), outs, outputs_text(outs), spec.bound,
        executor_of(spec.bound, spec.executor, spec.executor_options),
    )
    w.specs[id(spec)] = got
    return got


def importable(module: str) -> bool:
    """Whether a function's module is worth writing: one another process can import by that name
    (not ``__main__``, nor a name such as ``<run_path>`` that runpy gives)."""
    return bool(module) and module != "__main__" and not module.startswith("<")


def other_binding(w: Any, head: str, v: Any, default: Any) -> str:
    """An input bound to something other than one ref: several pushed refs, or a literal."""
    if type(v) is AnyOf:
        return f"{head}{any_of(w, v, default)}}}"
    return f'{head}"ref":null,"literal":{w.host(v)}}}'


def extras_text(w: Any, spec: Any, bind: dict, ins: list) -> None:
    """Appends the inputs a ``**kwargs`` function takes beyond its named parameters."""
    params = spec.param_set
    for k, v in bind.items():
        if k in params:
            continue
        head = f'{_q(k)}:{{"required":false,"default":null,'
        if v is None:
            ins.append(head + '"ref":null}')
        elif type(v) is Ref:
            ins.append(f'{head}"ref":{w.ref(v, [True, None])}}}')
        else:
            ins.append(other_binding(w, head, v, [True, None]))


def code_op(w: Any, node: Any, wired_to_end: bool, sd: tuple) -> str:
    spec, heads, unbound, pdefault, all_unbound, static, call, outs, outs_txt, bound, ext = sd
    bind = node.bind_
    if bind:
        ins = []
        for p in spec.params:
            v = bind.get(p)
            if v is None:
                ins.append(unbound[p])
            elif type(v) is Ref:
                ins.append(f'{heads[p]}"ref":{w.ref(v, pdefault[p])}}}')
            else:
                ins.append(other_binding(w, heads[p], v, pdefault[p]))
        if spec.has_varkw:
            extras_text(w, spec, bind, ins)
        inputs_txt = ",".join(ins)
    else:
        inputs_txt = all_unbound
    x = node.x_
    calls = spec.calls
    if x is None:
        enabled = "true"
        omap = None
    else:
        calls = x.get("calls", calls)
        bound = x.get("bound", bound)
        enabled = "true" if x.get("enabled", True) else "false"
        omap = x.get("omap")
        if "bound" in x or "executor" in x or "ray" in x:
            ext = executor_of(bound, x.get("executor", spec.executor), x.get("ray", spec.executor_options))
        rkeys = x.get("rkeys")
        if rkeys is not None:
            outs = rkeys
            outs_txt = outputs_text(rkeys)
    if omap:
        outs_txt = mapped_outputs(w, omap, outs)
        forward_all = "false"
    elif wired_to_end:
        forward_all = "true"
        if outs:
            writes = w.writes
            for k in outs:
                writes[k] = None
    else:
        forward_all = "false"
    name = node.name
    if ext is not None:
        call, ext_txt = external_text(w, node, spec, ext)
    else:
        ext_txt = ""
    return (
        f'"{name}":{{"type":"code","name":"{name}","full_name":"{node.full_name}",{static[0]},'
        f'"bound":"{bound}",{static[1]},"enabled":{enabled},"inputs":{{{inputs_txt}}},'
        f'"outputs":{{{outs_txt}}},"forward_all":{forward_all},"callable":{call}{ext_txt}'
        f'{calls_text(w, calls) if calls else ""}}}'
    )


def external_text(w: Any, node: Any, spec: Any, executor: str) -> tuple[str, str]:
    """An executor op's ``callable`` (an :class:`ExternalCall` for the engine to bind) and its
    ``,"executor":...`` keys (with ``"executor_options"`` when it has options)."""
    x = node.x_
    options = x.get("ray", spec.executor_options) if x is not None else spec.executor_options
    call = w.host(ExternalCall(spec.func, executor, options, node.full_name, spec.is_gen, spec.resources))
    text = f',"executor":{_q(executor)}'
    if options:
        text += f',"executor_options":{w.host(options)}'
    return call, text


def calls_text(w: Any, calls: dict) -> str:
    """The options of an op's calls that are on, as keys of its document (``,"retries":2,...``)."""
    parts = [""]
    for k, v in calls.items():
        if k == "retry_on":
            parts.append('"retry_on":[' + ",".join([w.type_host(t) for t in v]) + "]")
        else:
            parts.append(f'"{k}":{"true" if v is True else repr(v)}')
    return ",".join(parts)


def mapped_outputs(w: Any, omap: dict, outs: Any) -> str:
    """A code op's outputs when some are mapped to graph outputs: the declared ``outs`` (``None``:
    open) then the other mapped keys; records the graph outputs written."""
    gname = w.gname
    writes = w.writes
    parts = []
    for k in outs or ():
        t = omap.get(k)
        parts.append(_q(k) + ":" + (mapped_text(gname, t) if t is not None else UNBOUND_TXT))
    for k, t in omap.items():
        if outs is None or k not in outs:
            parts.append(_q(k) + ":" + mapped_text(gname, t))
        writes[t] = None
    return ",".join(parts)


def binding(w: Any, v: Any, head: str, param_default: list | None) -> str:
    """An input bound with ``inputs={...}``: ``head`` (up to ``"default":...,``) plus its value."""
    if v is None:
        return head + '"ref":null}'
    if type(v) is Ref:
        return f'{head}"ref":{w.ref(v, param_default)}}}'
    return f'{head}"ref":null,"literal":{w.host(v)}}}'

def fixed_outputs(w: Any, omap: dict | None, keys: Any, wired_to_end: bool) -> tuple[str, str]:
    """Outputs ``keys`` (then mapped extras) and ``forward_all``; records the graph outputs written."""
    writes = w.writes
    if omap:
        gname = w.gname
        parts = []
        for k in keys:
            t = omap.get(k)
            parts.append(_q(k) + ":" + (mapped_text(gname, t) if t is not None else UNBOUND_TXT))
        for k, t in omap.items():
            if k not in keys:
                parts.append(_q(k) + ":" + mapped_text(gname, t))
            writes[t] = None
        return ",".join(parts), "false"
    if wired_to_end:
        for k in keys:
            writes[k] = None
    return outputs_text(keys), "true" if wired_to_end else "false"

def branch_op(w: Any, node: Any, wired_to_end: bool) -> str:
    bind = node.bind_
    head = '{"required":false,"default":null,'
    inputs = ",".join([_q(k) + ":" + binding(w, v, head, OPTIONAL) for k, v in bind.items()])
    w.local = (node.full_name, bind)
    w.arg_default = OPTIONAL
    try:
        cases = ",".join(
            [
                f'{{"condition":{w.ref(c, OPTIONAL)},"target":{_q(t)},"text":{_q(x)}}}'
                for c, t, x in node.cases_
            ]
        )
    finally:
        w.local = None
        w.arg_default = None
    outputs, forward_all = fixed_outputs(w, node.xget_("omap", None), BRANCH_OUTPUTS, wired_to_end)
    default = "null" if node.default_ is None else _q(node.default_)
    name = node.name
    return (
        f'"{name}":{{"type":"branch","name":"{name}","full_name":"{node.full_name}",'
        f'"enabled":{"true" if node.enabled else "false"},"inputs":{{{inputs}}},'
        f'"outputs":{{{outputs}}},"cases":[{cases}],"default":{default},'
        f'"forward_all":{forward_all}}}'
    )

def graph_node_head(w: Any, g: Any, inner: Any, wired_to_end: bool) -> str:
    """A nested graph as an op of the outer graph (written in the outer graph's scope), up to
    the opening of its own ``ops``."""
    reads = inner.reads
    ins = []
    for k, v in g.bind_.items():
        seen = reads.get(k)
        req_d = None if seen is not None and seen[0] else [True, None if seen is None else seen[1]]
        ins.append(binding(w, v, _q(k) + ':{"required":false,"default":null,', req_d))
    bind = g.bind_
    for k in reads:
        if k not in bind:
            ins.append(_q(k) + ":" + UNBOUND_TXT)
    outputs, forward_all = fixed_outputs(w, g.xget_("omap", None), inner.writes, wired_to_end)
    name = g.name
    return (
        f'"{name}":{{"type":"graph","name":"{name}","full_name":"{g.full_name}",'
        f'"enabled":{"true" if g.enabled else "false"},"inputs":{{{",".join(ins)}}},'
        f'"outputs":{{{outputs}}},"forward_all":{forward_all},'
        f'"graph":{{"name":"{name}","full_name":"{g.full_name}",'
        f'"concurrency":{"null" if g.concurrency is None else int(g.concurrency)},"ops":{{'
    )


def edges_text(g: Any, informational: bool) -> tuple[list[str], dict, dict]:
    """The edges as JSON text; with ``informational``, also ``compiled_adj`` and ``initial_ready_count``."""
    edges: list[str] = []
    if not informational:
        for s, d, soft in g.edges_:
            edges.append(f'{{"from":"{s.name}","to":"{d.name}","soft":{"true" if soft else "false"}}}')
        return edges, {}, {}
    adj: dict[str, list[str]] = {name: [] for name in g.ops_}
    hard = dict.fromkeys(g.ops_, 0)
    soft_preds: set[str] = set()
    for s, d, soft in g.edges_:
        sn = s.name
        dn = d.name
        if soft:
            edges.append(f'{{"from":"{sn}","to":"{dn}","soft":true}}')
            adj[sn].append(f'["{dn}",true]')
            soft_preds.add(dn)
        else:
            edges.append(f'{{"from":"{sn}","to":"{dn}","soft":false}}')
            adj[sn].append(f'["{dn}",false]')
            hard[dn] += 1
    for dn in soft_preds:
        hard[dn] += 1
    return edges, adj, hard
