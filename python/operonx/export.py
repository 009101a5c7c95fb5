"""The graph document (schema 1.0, see ``docs/graph-schema.md``).

Two forms of one document:

* :func:`export_config` (``GraphOp.export_config()`` / ``serialize()``): a
  JSON-ready dict for people and tools. Literals that are JSON types stay as
  they are, tuples become lists, other objects become ``{"$repr": ...}`` and
  functions appear by name.
* :func:`engine_document`: the JSON text the Rust core compiles, plus the list
  of live Python objects it refers to as ``{"$host": i}`` (every literal,
  default and transform argument, and each code op's ``callable``).

Both walk the graph with loops only (nested graphs through an explicit stack),
so graphs of any size and nesting depth export under the default recursion
limit.

Besides code ops, a document holds branches (``"type": "branch"``: ``cases``
with a condition ref, a target and the case's text, ``default``, outputs
``target`` / ``matched``) and nested graphs (``"type": "graph"``: the node's
``inputs`` / ``outputs`` in the outer graph's scope, and the nested graph's own
``graph`` document, whose refs to its inputs have the nested graph's full name
as their source). A branch condition's ``PARENT[k]``, where ``k`` is one of
the branch's own inputs, is written with the branch's full name as its source.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring as _q
from typing import Any

from operonx.branch import BranchOp
from operonx.graph import GraphOp
from operonx.op import FuncOp
from operonx.refs import PARENT, Ref

__all__ = ["SCHEMA_VERSION", "export_config", "engine_document"]

#: The document version written (and the only one the engine reads).
SCHEMA_VERSION = "1.0"

_JSON_SCALARS = (str, int, float, bool)
_UNBOUND_OUT = {"required": False, "default": None, "ref": None}
_OPTIONAL = [True, None]
_BRANCH_OUTPUTS = ("target", "matched")


class _Frame:
    """One graph being written: its ops iterator (resumed after a nested graph) and what it collected."""

    __slots__ = ("g", "it", "ops", "reads", "writes", "slot")

    def __init__(self, g: GraphOp, ops: Any, slot: int = 0) -> None:
        self.g = g
        self.it = iter(g._ops.items())
        # the dict writer: {name: op document}; the text writer: how many ops were written
        self.ops = ops
        self.reads: dict[str, list] = {}
        self.writes: dict[str, None] = {}
        # the text writer: where the graph's head goes in the output, once its reads are known
        self.slot = slot


def _jsonable(v: Any) -> Any:
    """A JSON-ready copy of a literal for :func:`export_config`."""
    t = type(v)
    if v is None or t is str or t is int or t is float or t is bool:
        return v
    if t is list or t is tuple:
        return [_jsonable(x) for x in v]
    if t is dict:
        return {
            (k if type(k) in _JSON_SCALARS or k is None else repr(k)): _jsonable(x)
            for k, x in v.items()
        }
    return {"$repr": repr(v)}



def _source_of(writer: Any, r: Ref, param_default: list | None) -> str:
    """The ``source`` a ref is written with: the op's full name, the graph's for ``PARENT[k]`` (noting
    the read), or the branch's own full name for one of its inputs."""
    if r._src is not PARENT:
        return r._src.full_name
    local = writer.local
    if local is not None and r._var in local[1]:
        return local[0]
    _note_parent_read(writer.reads, r._var, param_default)
    return writer.gname


def _note_parent_read(reads: dict, var: Any, param_default: list | None) -> None:
    """Records that graph input ``var`` is read: required unless every reader has a default."""
    seen = reads.get(var)
    if seen is None:
        reads[var] = [True, None] if param_default is None else [False, param_default[1]]
    elif param_default is None:
        seen[0] = True

class _WriterState:
    """What both document writers track while they write one graph tree."""

    __slots__ = ("hosts", "host_ids", "gname", "reads", "writes", "specs", "local", "arg_default")

    def __init__(self, hosts: list | None) -> None:
        self.hosts = hosts
        self.host_ids: dict[int, int] = {}
        self.gname = ""
        self.reads: dict[str, list] = {}
        self.writes: dict[str, None] = {}
        self.specs: dict[int, tuple] = {}
        # while a branch's conditions are written: (branch full name, its input names)
        self.local: tuple | None = None
        # how a ref inside a transform argument counts as a graph-input read
        self.arg_default: list | None = None


class _Writer(_WriterState):
    """Builds one document; ``hosts`` is a list in engine mode, ``None`` otherwise."""

    __slots__ = ()

    # -- values ------------------------------------------------------------------

    def value(self, v: Any) -> Any:
        hosts = self.hosts
        if hosts is None:
            return _jsonable(v)
        hosts.append(v)
        return {"$host": len(hosts) - 1}

    def shared(self, v: Any) -> Any:
        """Like :meth:`value`, one host slot per object (functions, defaults)."""
        hosts = self.hosts
        if hosts is None:
            return _jsonable(v)
        i = self.host_ids.get(id(v))
        if i is None or hosts[i] is not v:
            hosts.append(v)
            i = self.host_ids[id(v)] = len(hosts) - 1
        return {"$host": i}

    def arg(self, v: Any) -> Any:
        if isinstance(v, Ref):
            return {"__ref__": self.ref(v, self.arg_default)}
        return self.value(v)

    def ref(self, r: Ref, param_default: list | None) -> dict:
        """A Ref's document; records graph inputs read (``param_default``: [has, default])."""
        var = r._var
        source = _source_of(self, r, param_default)
        tf = r._tf
        if not tf:
            doc = {"source": source, "var": var, "transforms": [], "is_output": False}
            if r._pol is not None:
                _policy(doc, r._pol)
            return doc
        out = []
        arg = self.arg
        for kind, args in tf:
            if kind == "call":
                pos, kw = args
                out.append([kind, [[arg(a) for a in pos], {k: arg(a) for k, a in kw.items()}]])
            elif kind == "apply":
                fn = args[0]
                first = (
                    {"func_name": getattr(fn, "__qualname__", None) or repr(fn)}
                    if self.hosts is None
                    else self.shared(fn)
                )
                out.append([kind, [first, *[arg(a) for a in args[1:]]]])
            else:
                out.append([kind, [arg(a) for a in args]])
        doc = {"source": source, "var": var, "transforms": out, "is_output": False}
        if r._pol is not None:
            _policy(doc, r._pol)
        return doc

    # -- ops -------------------------------------------------------------------------

    def spec_doc(self, spec: Any) -> tuple:
        """Per-function parts shared by every op of that function in this document."""
        got = self.specs.get(id(spec))
        if got is not None and got[0] is spec:
            return got
        defaults = spec.defaults
        req: dict[str, bool] = {}
        dflt: dict[str, Any] = {}
        unbound: dict[str, dict] = {}
        pdefault: dict[str, list | None] = {}
        for p in spec.params:
            if p in defaults:
                d = self.shared(defaults[p])
                req[p] = False
                pdefault[p] = [True, defaults[p]]
            else:
                d = None
                req[p] = True
                pdefault[p] = None
            dflt[p] = d
            unbound[p] = {"required": req[p], "default": d, "ref": None}
        call = self.shared(spec.func) if self.hosts is not None else None
        got = (spec, req, dflt, unbound, pdefault, call)
        self.specs[id(spec)] = got
        return got

    def code_op(self, node: FuncOp, wired_to_end: bool) -> dict:
        spec = node._spec
        _, req, dflt, unbound, pdefault, call = self.spec_doc(spec)
        bind = node._bind
        inputs: dict[str, dict] = {}
        for p in spec.params:
            v = bind.get(p)
            if v is None:
                inputs[p] = unbound[p] if self.hosts is not None else dict(unbound[p])
            elif type(v) is Ref:
                inputs[p] = {"required": req[p], "default": dflt[p], "ref": self.ref(v, pdefault[p])}
            else:
                inputs[p] = {"required": req[p], "default": dflt[p], "ref": None, "literal": self.value(v)}
        if spec.has_varkw and bind:
            for k, v in bind.items():
                if k in inputs:
                    continue
                if v is None:
                    inputs[k] = {"required": False, "default": None, "ref": None}
                elif type(v) is Ref:
                    inputs[k] = {"required": False, "default": None, "ref": self.ref(v, [True, None])}
                else:
                    inputs[k] = {"required": False, "default": None, "ref": None, "literal": self.value(v)}
        omap = node._xget("omap", None)
        declared = node._declared()
        outputs: dict[str, dict] = {}
        writes = self.writes
        gname = self.gname
        if omap:
            for k in declared or ():
                t = omap.get(k)
                outputs[k] = _mapped(gname, t) if t is not None else dict(_UNBOUND_OUT)
            for k, t in omap.items():
                if k not in outputs:
                    outputs[k] = _mapped(gname, t)
                writes[t] = None
            forward_all = False
        else:
            if self.hosts is not None:
                for k in declared or ():
                    outputs[k] = _UNBOUND_OUT
            else:
                for k in declared or ():
                    outputs[k] = dict(_UNBOUND_OUT)
            forward_all = wired_to_end
            if wired_to_end and declared:
                for k in declared:
                    writes[k] = None
        doc = {
            "type": "code",
            "name": node.name,
            "full_name": node.full_name,
            "func_name": spec.qualname,
            "bound": node.bound,
            "is_async": spec.is_async,
            "is_generator": spec.is_gen,
            "enabled": node.enabled,
            "inputs": inputs,
            "outputs": outputs,
            "forward_all": forward_all,
        }
        if call is not None:
            doc["callable"] = call
        return doc

    # -- the graph ---------------------------------------------------------------------

    def binding(self, v: Any, head: dict, param_default: list | None) -> dict:
        """An input bound with ``inputs={...}``: ``head`` plus its ref or literal."""
        if v is None:
            head["ref"] = None
        elif type(v) is Ref:
            head["ref"] = self.ref(v, param_default)
        else:
            head["ref"] = None
            head["literal"] = self.value(v)
        return head

    def branch_op(self, node: BranchOp, wired_to_end: bool) -> dict:
        bind = node._bind
        inputs = {
            k: self.binding(v, {"required": False, "default": None}, _OPTIONAL) for k, v in bind.items()
        }
        self.local = (node.full_name, bind)
        self.arg_default = _OPTIONAL
        try:
            cases = [
                {"condition": self.ref(c, _OPTIONAL), "target": t, "text": x} for c, t, x in node._cases
            ]
        finally:
            self.local = None
            self.arg_default = None
        omap = node._xget("omap", None)
        outputs, forward_all = self.fixed_outputs(omap, _BRANCH_OUTPUTS, wired_to_end)
        return {
            "type": "branch",
            "name": node.name,
            "full_name": node.full_name,
            "enabled": node.enabled,
            "inputs": inputs,
            "outputs": outputs,
            "cases": cases,
            "default": node._default,
            "forward_all": forward_all,
        }

    def fixed_outputs(self, omap: dict | None, keys: Any, wired_to_end: bool) -> tuple[dict, bool]:
        """Outputs ``keys`` (then mapped extras) and ``forward_all``; records the graph outputs written."""
        gname = self.gname
        writes = self.writes
        outputs: dict[str, dict] = {}
        if omap:
            for k in keys:
                t = omap.get(k)
                outputs[k] = _mapped(gname, t) if t is not None else dict(_UNBOUND_OUT)
            for k, t in omap.items():
                if k not in outputs:
                    outputs[k] = _mapped(gname, t)
                writes[t] = None
            return outputs, False
        for k in keys:
            outputs[k] = dict(_UNBOUND_OUT)
            if wired_to_end:
                writes[k] = None
        return outputs, wired_to_end

    def graph_node(self, g: GraphOp, body: dict, inner: _Frame, wired_to_end: bool) -> dict:
        """A nested graph as an op of the outer graph (written in the outer graph's scope)."""
        # The node passes its inputs through as they are: each inner op applies its own default and
        # requiredness, as a root graph's ops do with the run inputs (so an input only an untaken
        # branch needs is not an error, and readers with different defaults each keep theirs).
        reads = inner.reads
        inputs: dict[str, dict] = {}
        for k, v in g._bind.items():
            seen = reads.get(k)
            req_d = None if seen is not None and seen[0] else [True, None if seen is None else seen[1]]
            inputs[k] = self.binding(v, {"required": False, "default": None}, req_d)
        for k in reads:
            if k not in inputs:
                inputs[k] = {"required": False, "default": None, "ref": None}
        outputs, forward_all = self.fixed_outputs(g._xget("omap", None), inner.writes, wired_to_end)
        doc = {
            "type": "graph",
            "name": g.name,
            "full_name": g.full_name,
            "enabled": g.enabled,
            "inputs": inputs,
            "outputs": outputs,
            "forward_all": forward_all,
            "graph": body,
        }
        self.loop_doc(g, doc)
        return doc

    def loop_doc(self, g: GraphOp, doc: dict) -> None:
        """Adds a loop's ``"loop"`` entry: ``until`` is its text, a host callable in engine mode,
        else ``{"callable": name}`` (which the engine refuses: a callable cannot be written)."""
        cfg = g._xget("loop", None)
        if cfg is None:
            return
        until, max_iterations = cfg
        if callable(until):
            until = self.shared(until) if self.hosts is not None else {"callable": _callable_name(until)}
        doc["loop"] = {"until": until, "max_iterations": max_iterations}

    # -- the graph ---------------------------------------------------------------------

    def document(self, root: GraphOp) -> dict:
        """The whole document; nested graphs are written through an explicit stack."""
        code_op = self.code_op
        stack = [_Frame(root, {})]
        while True:
            f = stack[-1]
            g = f.g
            self.gname = g.full_name
            self.reads = f.reads
            self.writes = f.writes
            exits = g._exits
            ops = f.ops
            nested = None
            for name, node in f.it:
                if type(node) is FuncOp or node.type == "code":
                    ops[name] = code_op(node, name in exits)  # type: ignore[arg-type]
                elif isinstance(node, BranchOp):
                    ops[name] = self.branch_op(node, name in exits)
                elif isinstance(node, GraphOp):
                    nested = node
                    break
                else:
                    raise NotImplementedError(
                        f"op {node.full_name!r}: type {node.type!r} cannot be exported yet"
                    )
            if nested is not None:
                stack.append(_Frame(nested, {}))
                continue
            stack.pop()
            if not stack:
                return self.root(f)
            outer = stack[-1]
            self.gname = outer.g.full_name
            self.reads = outer.reads
            self.writes = outer.writes
            outer.ops[g.name] = self.graph_node(g, _body(f), f, g.name in outer.g._exits)

    def root(self, f: _Frame) -> dict:
        g = f.g
        ops = f.ops
        body = _body(f)
        adj: dict[str, list] = {name: [] for name in ops}
        hard = dict.fromkeys(ops, 0)
        soft_preds: set[str] = set()
        for e in body["edges"]:
            sn = e["from"]
            dn = e["to"]
            soft = e["soft"]
            adj[sn].append([dn, soft])
            if soft:
                soft_preds.add(dn)
            else:
                hard[dn] += 1
        for dn in soft_preds:
            hard[dn] += 1
        inputs = {
            var: {"required": r, "default": None if d is None else self.shared(d), "ref": None}
            for var, (r, d) in f.reads.items()
        }
        for k, v in g._bind.items():
            if v is None or isinstance(v, Ref):
                inputs.setdefault(k, {"required": False, "default": None, "ref": None})
            else:
                inputs.setdefault(k, {"required": False, "default": None, "ref": None})["literal"] = self.value(v)
        outputs = {var: dict(_UNBOUND_OUT) for var in f.writes}
        doc = {
            "schema_version": SCHEMA_VERSION,
            "type": "graph",
            "name": g.name,
            "full_name": g.full_name,
            "concurrency": g.concurrency,
            "inputs": inputs,
            "outputs": outputs,
            "ops": ops,
            "edges": body["edges"],
            "entries": body["entries"],
            "exits": body["exits"],
            "initial_ready_count": hard,
            "compiled_adj": adj,
        }
        self.loop_doc(g, doc)
        return doc


def _body(f: _Frame) -> dict:
    """A graph's own part of the document: name, concurrency, ops, edges, entries, exits."""
    g = f.g
    return {
        "name": g.name,
        "full_name": g.full_name,
        "concurrency": g.concurrency,
        "ops": f.ops,
        "edges": [{"from": s.name, "to": d.name, "soft": soft} for s, d, soft in g._edges],
        "entries": list(g._entries),
        "exits": list(g._exits),
    }


def _policy(doc: dict, pol: tuple) -> None:
    """Add a ref's stream policy (``"policy"``, and ``"max"`` when capped) to its document."""
    doc["policy"] = pol[0]
    if pol[1] is not None:
        doc["max"] = pol[1]


def _policy_text(pol: tuple) -> str:
    text = f',"policy":"{pol[0]}"'
    if pol[1] is not None:
        text += f',"max":{int(pol[1])}'
    return text


def _mapped(gname: str, target: str) -> dict:
    return {
        "required": False,
        "default": None,
        "ref": {"source": gname, "var": target, "transforms": [], "is_output": False},
    }


class _TextWriter(_WriterState):
    """Writes the engine document straight to JSON text (no intermediate dicts).

    Op and graph names are validated (letters, digits, ``_``, ``-``), so they
    are written without escaping; every other string goes through the JSON
    string encoder.
    """

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__([])

    def host(self, v: Any) -> str:
        hosts = self.hosts
        hosts.append(v)
        return f'{{"$host":{len(hosts) - 1}}}'

    def shared(self, v: Any) -> str:
        hosts = self.hosts
        i = self.host_ids.get(id(v))
        if i is None or hosts[i] is not v:
            hosts.append(v)
            i = self.host_ids[id(v)] = len(hosts) - 1
        return f'{{"$host":{i}}}'

    def arg(self, v: Any) -> str:
        if isinstance(v, Ref):
            return f'{{"__ref__":{self.ref(v, self.arg_default)}}}'
        return self.host(v)

    def ref(self, r: Ref, param_default: list | None) -> str:
        var = r._var
        source = _source_of(self, r, param_default)
        var_txt = _q(var) if type(var) is str else json.dumps(var)
        tf = r._tf
        if not tf:
            if r._pol is not None:
                return (
                    f'{{"source":"{source}","var":{var_txt},"transforms":[],"is_output":false'
                    f"{_policy_text(r._pol)}}}"
                )
            return f'{{"source":"{source}","var":{var_txt},"transforms":[],"is_output":false}}'
        arg = self.arg
        out = []
        for kind, args in tf:
            if kind == "call":
                pos, kw = args
                p_txt = ",".join([arg(a) for a in pos])
                k_txt = ",".join([f"{_q(k)}:{arg(a)}" for k, a in kw.items()])
                inner = f"[[{p_txt}],{{{k_txt}}}]"
            elif kind == "apply":
                inner = "[" + ",".join([self.shared(args[0])] + [arg(a) for a in args[1:]]) + "]"
            else:
                inner = "[" + ",".join([arg(a) for a in args]) + "]"
            out.append(f'["{kind}",{inner}]')
        tf_txt = ",".join(out)
        pol_txt = "" if r._pol is None else _policy_text(r._pol)
        return (
            f'{{"source":"{source}","var":{var_txt},"transforms":[{tf_txt}],"is_output":false'
            f"{pol_txt}}}"
        )

    def spec_doc(self, spec: Any) -> tuple:
        got = self.specs.get(id(spec))
        if got is not None and got[0] is spec:
            return got
        defaults = spec.defaults
        heads: dict[str, str] = {}
        unbound: dict[str, str] = {}
        pdefault: dict[str, list | None] = {}
        for p in spec.params:
            if p in defaults:
                heads[p] = f'{_q(p)}:{{"required":false,"default":{self.shared(defaults[p])},'
                pdefault[p] = [True, defaults[p]]
            else:
                heads[p] = f'{_q(p)}:{{"required":true,"default":null,'
                pdefault[p] = None
            unbound[p] = heads[p] + '"ref":null}'
        outs = spec.outputs
        static = (
            f'"func_name":{_q(spec.qualname)},'
            f'"is_async":{"true" if spec.is_async else "false"},'
            f'"is_generator":{"true" if spec.is_gen else "false"}'
        )
        got = (
            spec, heads, unbound, pdefault, ",".join(unbound.values()), static,
            self.shared(spec.func), outs, _outputs_text(outs), spec.bound,
        )
        self.specs[id(spec)] = got
        return got

    def code_op(self, node: FuncOp, wired_to_end: bool, sd: tuple) -> str:
        spec, heads, unbound, pdefault, all_unbound, static, call, outs, outs_txt, bound = sd
        bind = node._bind
        if bind:
            ins = []
            for p in spec.params:
                v = bind.get(p)
                if v is None:
                    ins.append(unbound[p])
                elif type(v) is Ref:
                    ins.append(f'{heads[p]}"ref":{self.ref(v, pdefault[p])}}}')
                else:
                    ins.append(f'{heads[p]}"ref":null,"literal":{self.host(v)}}}')
            if spec.has_varkw:
                params = spec.param_set
                for k, v in bind.items():
                    if k in params:
                        continue
                    head = f'{_q(k)}:{{"required":false,"default":null,'
                    if v is None:
                        ins.append(head + '"ref":null}')
                    elif type(v) is Ref:
                        ins.append(f'{head}"ref":{self.ref(v, [True, None])}}}')
                    else:
                        ins.append(f'{head}"ref":null,"literal":{self.host(v)}}}')
            inputs_txt = ",".join(ins)
        else:
            inputs_txt = all_unbound
        x = node._x
        if x is None:
            enabled = "true"
            omap = None
        else:
            bound = x.get("bound", bound)
            enabled = "true" if x.get("enabled", True) else "false"
            omap = x.get("omap")
            rkeys = x.get("rkeys")
            if rkeys is not None:
                outs = rkeys
                outs_txt = _outputs_text(rkeys)
        if omap:
            gname = self.gname
            writes = self.writes
            parts = []
            for k in outs or ():
                t = omap.get(k)
                parts.append(_q(k) + ":" + (_mapped_text(gname, t) if t is not None else _UNBOUND_TXT))
            for k, t in omap.items():
                if outs is None or k not in outs:
                    parts.append(_q(k) + ":" + _mapped_text(gname, t))
                writes[t] = None
            outs_txt = ",".join(parts)
            forward_all = "false"
        elif wired_to_end:
            forward_all = "true"
            if outs:
                writes = self.writes
                for k in outs:
                    writes[k] = None
        else:
            forward_all = "false"
        name = node.name
        return (
            f'"{name}":{{"type":"code","name":"{name}","full_name":"{node.full_name}",{static},'
            f'"bound":"{bound}","enabled":{enabled},"inputs":{{{inputs_txt}}},'
            f'"outputs":{{{outs_txt}}},"forward_all":{forward_all},"callable":{call}}}'
        )

    def binding(self, v: Any, head: str, param_default: list | None) -> str:
        """An input bound with ``inputs={...}``: ``head`` (up to ``"default":...,``) plus its value."""
        if v is None:
            return head + '"ref":null}'
        if type(v) is Ref:
            return f'{head}"ref":{self.ref(v, param_default)}}}'
        return f'{head}"ref":null,"literal":{self.host(v)}}}'

    def fixed_outputs(self, omap: dict | None, keys: Any, wired_to_end: bool) -> tuple[str, str]:
        """Outputs ``keys`` (then mapped extras) and ``forward_all``; records the graph outputs written."""
        writes = self.writes
        if omap:
            gname = self.gname
            parts = []
            for k in keys:
                t = omap.get(k)
                parts.append(_q(k) + ":" + (_mapped_text(gname, t) if t is not None else _UNBOUND_TXT))
            for k, t in omap.items():
                if k not in keys:
                    parts.append(_q(k) + ":" + _mapped_text(gname, t))
                writes[t] = None
            return ",".join(parts), "false"
        if wired_to_end:
            for k in keys:
                writes[k] = None
        return _outputs_text(keys), "true" if wired_to_end else "false"

    def branch_op(self, node: BranchOp, wired_to_end: bool) -> str:
        bind = node._bind
        head = '{"required":false,"default":null,'
        inputs = ",".join([_q(k) + ":" + self.binding(v, head, _OPTIONAL) for k, v in bind.items()])
        self.local = (node.full_name, bind)
        self.arg_default = _OPTIONAL
        try:
            cases = ",".join(
                [
                    f'{{"condition":{self.ref(c, _OPTIONAL)},"target":{_q(t)},"text":{_q(x)}}}'
                    for c, t, x in node._cases
                ]
            )
        finally:
            self.local = None
            self.arg_default = None
        outputs, forward_all = self.fixed_outputs(node._xget("omap", None), _BRANCH_OUTPUTS, wired_to_end)
        default = "null" if node._default is None else _q(node._default)
        name = node.name
        return (
            f'"{name}":{{"type":"branch","name":"{name}","full_name":"{node.full_name}",'
            f'"enabled":{"true" if node.enabled else "false"},"inputs":{{{inputs}}},'
            f'"outputs":{{{outputs}}},"cases":[{cases}],"default":{default},'
            f'"forward_all":{forward_all}}}'
        )

    def graph_node_head(self, g: GraphOp, inner: _Frame, wired_to_end: bool) -> str:
        """A nested graph as an op of the outer graph (written in the outer graph's scope), up to
        the opening of its own ``ops``."""
        reads = inner.reads
        ins = []
        for k, v in g._bind.items():
            seen = reads.get(k)
            req_d = None if seen is not None and seen[0] else [True, None if seen is None else seen[1]]
            ins.append(self.binding(v, _q(k) + ':{"required":false,"default":null,', req_d))
        bind = g._bind
        for k in reads:
            if k not in bind:
                ins.append(_q(k) + ":" + _UNBOUND_TXT)
        outputs, forward_all = self.fixed_outputs(g._xget("omap", None), inner.writes, wired_to_end)
        name = g.name
        return (
            f'"{name}":{{"type":"graph","name":"{name}","full_name":"{g.full_name}",'
            f'"enabled":{"true" if g.enabled else "false"},"inputs":{{{",".join(ins)}}},'
            f'"outputs":{{{outputs}}},"forward_all":{forward_all},{self.loop_text(g)}'
            f'"graph":{{"name":"{name}","full_name":"{g.full_name}",'
            f'"concurrency":{"null" if g.concurrency is None else int(g.concurrency)},"ops":{{'
        )

    def document(self, root: GraphOp) -> str:
        """The whole document as JSON text.

        Nested graphs are written through an explicit stack, into one list of text pieces in
        document order: a graph's head (which needs what its ops read) is filled into a slot
        reserved before its ops once they are written, so nothing is copied more than once.
        """
        code_op = self.code_op
        spec_doc = self.spec_doc
        last_spec = None
        sd: tuple = ()
        out: list[Any] = [None]
        append = out.append
        stack = [_Frame(root, 0, 0)]
        while True:
            f = stack[-1]
            g = f.g
            self.gname = g.full_name
            self.reads = f.reads
            self.writes = f.writes
            exits = g._exits
            n = f.ops
            nested = None
            for name, node in f.it:
                if n:
                    append(",")
                n += 1
                if type(node) is FuncOp or node.type == "code":
                    spec = node._spec  # type: ignore[attr-defined]
                    if spec is not last_spec:
                        sd = spec_doc(spec)
                        last_spec = spec
                    append(code_op(node, name in exits, sd))  # type: ignore[arg-type]
                elif isinstance(node, BranchOp):
                    append(self.branch_op(node, name in exits))
                elif isinstance(node, GraphOp):
                    nested = node
                    break
                else:
                    raise NotImplementedError(
                        f"op {node.full_name!r}: type {node.type!r} cannot be exported yet"
                    )
            f.ops = n
            if nested is not None:
                stack.append(_Frame(nested, 0, len(out)))
                append(None)
                continue
            stack.pop()
            edges, adj, hard = _edges_text(g, not stack)
            if not stack:
                append(self.root_tail(f, edges, adj, hard))
                out[0] = self.root_head(f)
                return "".join(out)
            append(
                f'}},"edges":[{",".join(edges)}],'
                f'"entries":[{",".join([f"{_q(n)}" for n in g._entries])}],'
                f'"exits":[{",".join([f"{_q(n)}" for n in g._exits])}]}}}}'
            )
            outer = stack[-1]
            self.gname = outer.g.full_name
            self.reads = outer.reads
            self.writes = outer.writes
            out[f.slot] = self.graph_node_head(g, f, g.name in outer.g._exits)

    def root_head(self, f: _Frame) -> str:
        g = f.g
        bind = g._bind
        parts = []
        for var, (r, d) in f.reads.items():
            v = bind.get(var)
            lit = "" if v is None or isinstance(v, Ref) else f',"literal":{self.host(v)}'
            parts.append(
                f'{_q(var)}:{{"required":{"true" if r else "false"},'
                f'"default":{"null" if d is None else self.shared(d)},"ref":null{lit}}}'
            )
        for k, v in bind.items():
            if k not in f.reads:
                lit = "" if v is None or isinstance(v, Ref) else f',"literal":{self.host(v)}'
                parts.append(f'{_q(k)}:{{"required":false,"default":null,"ref":null{lit}}}')
        inputs = ",".join(parts)
        outputs = ",".join([f"{_q(var)}:{_UNBOUND_TXT}" for var in f.writes])
        concurrency = "null" if g.concurrency is None else str(int(g.concurrency))
        return (
            f'{{"schema_version":"{SCHEMA_VERSION}","type":"graph","name":"{g.name}",'
            f'"full_name":"{g.full_name}","concurrency":{concurrency},{self.loop_text(g)}'
            f'"inputs":{{{inputs}}},"outputs":{{{outputs}}},"ops":{{'
        )

    def loop_text(self, g: GraphOp) -> str:
        """A loop's ``"loop":{...},`` entry (empty for a plain graph); a callable ``until`` is a
        host object."""
        cfg = g._xget("loop", None)
        if cfg is None:
            return ""
        until, max_iterations = cfg
        if until is None:
            until_txt = "null"
        elif isinstance(until, str):
            until_txt = _q(until)
        else:
            until_txt = self.shared(until)
        return f'"loop":{{"until":{until_txt},"max_iterations":{int(max_iterations)}}},'

    def root_tail(self, f: _Frame, edges: list[str], adj: dict, hard: dict) -> str:
        g = f.g
        edges_txt = ",".join(edges)
        entries_txt = ",".join([f'"{n}"' for n in g._entries])
        exits_txt = ",".join([f'"{n}"' for n in g._exits])
        irc_txt = ",".join([f'"{n}":{c}' for n, c in hard.items()])
        adj_txt = ",".join([f'"{n}":[{",".join(a)}]' for n, a in adj.items()])
        return (
            f'}},"edges":[{edges_txt}],"entries":[{entries_txt}],"exits":[{exits_txt}],'
            f'"initial_ready_count":{{{irc_txt}}},"compiled_adj":{{{adj_txt}}}}}'
        )


def _edges_text(g: GraphOp, informational: bool) -> tuple[list[str], dict, dict]:
    """The edges as JSON text; with ``informational``, also ``compiled_adj`` and ``initial_ready_count``."""
    edges: list[str] = []
    if not informational:
        for s, d, soft in g._edges:
            edges.append(f'{{"from":"{s.name}","to":"{d.name}","soft":{"true" if soft else "false"}}}')
        return edges, {}, {}
    adj: dict[str, list[str]] = {name: [] for name in g._ops}
    hard = dict.fromkeys(g._ops, 0)
    soft_preds: set[str] = set()
    for s, d, soft in g._edges:
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


_UNBOUND_TXT = '{"required":false,"default":null,"ref":null}'


def _outputs_text(keys: Any) -> str:
    if not keys:
        return ""
    return ",".join([_q(k) + ":" + _UNBOUND_TXT for k in keys])


def _mapped_text(gname: str, target: str) -> str:
    return (
        '{"required":false,"default":null,"ref":{"source":"' + gname + '","var":'
        + _q(target) + ',"transforms":[],"is_output":false}}'
    )


def _callable_name(f: Any) -> str:
    return getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or repr(f)


def export_config(graph: GraphOp) -> dict:
    """The graph document as a JSON-ready dict (what ``GraphOp.export_config()`` returns)."""
    return _Writer(None).document(graph)


def engine_document(graph: GraphOp, freeze: bool = False) -> tuple[str, list]:
    """The document the Rust core compiles: ``(json_text, host_objects)``.

    Every literal, default and transform argument is written ``{"$host": i}``,
    an index into ``host_objects``; each code op has ``"callable": {"$host": i}``,
    the plain function to call. With ``freeze=True`` the graph is also marked
    as built (as ``graph._mark_built()`` does): adding ops or edges to it
    afterwards raises ``OperonUsageError``.
    """
    w = _TextWriter()
    text = w.document(graph)
    if freeze:
        graph._mark_built()
    return text, w.hosts
