"""The graph document (schema 1.0, see ``docs/graph-schema.md``).

Two forms of one document:

* :func:`export_config` (``GraphOp.export_config()`` / ``serialize()``): a
  JSON-ready dict for people and tools. Literals that are JSON types stay as
  they are, tuples become lists, other objects become ``{"$repr": ...}`` and
  functions appear by name.
* :func:`engine_document`: the JSON text the Rust core compiles, plus the list
  of live Python objects it refers to as ``{"$host": i}`` (every literal,
  default and transform argument, and each code op's ``callable``).

Both walk the graph with loops only, so graphs of any size export under the
default recursion limit.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring as _q
from typing import Any

from operonx.graph import GraphOp
from operonx.op import FuncOp
from operonx.refs import PARENT, Ref

__all__ = ["SCHEMA_VERSION", "export_config", "engine_document"]

#: The document version written (and the only one the engine reads).
SCHEMA_VERSION = "1.0"

_JSON_SCALARS = (str, int, float, bool)
_UNBOUND_OUT = {"required": False, "default": None, "ref": None}


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



def _note_parent_read(reads: dict, var: Any, param_default: list | None) -> None:
    """Records that graph input ``var`` is read: required unless every reader has a default."""
    seen = reads.get(var)
    if seen is None:
        reads[var] = [True, None] if param_default is None else [False, param_default[1]]
    elif param_default is None:
        seen[0] = True

class _Writer:
    """Builds one document; ``hosts`` is a list in engine mode, ``None`` otherwise."""

    __slots__ = ("hosts", "host_ids", "gname", "reads", "writes", "specs")

    def __init__(self, hosts: list | None) -> None:
        self.hosts = hosts
        self.host_ids: dict[int, int] = {}
        self.gname = ""
        self.reads: dict[str, list] = {}
        self.writes: dict[str, None] = {}
        self.specs: dict[int, tuple] = {}

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
            return {"__ref__": self.ref(v, None)}
        return self.value(v)

    def ref(self, r: Ref, param_default: list | None) -> dict:
        """A Ref's document; records graph inputs read (``param_default``: [has, default])."""
        src = r._src
        var = r._var
        if src is PARENT:
            source = self.gname
            _note_parent_read(self.reads, var, param_default)
        else:
            source = src.full_name
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

    def graph(self, g: GraphOp) -> dict:
        self.gname = g.full_name
        exits = g._exits
        ops: dict[str, dict] = {}
        code_op = self.code_op
        for name, node in g._ops.items():
            if type(node) is FuncOp or node.type == "code":
                ops[name] = code_op(node, name in exits)  # type: ignore[arg-type]
            else:
                raise NotImplementedError(f"op {node.full_name!r}: type {node.type!r} cannot be exported yet")
        edges = []
        adj: dict[str, list] = {name: [] for name in ops}
        hard = dict.fromkeys(ops, 0)
        soft_preds: set[str] = set()
        for s, d, soft in g._edges:
            sn = s.name
            dn = d.name
            edges.append({"from": sn, "to": dn, "soft": soft})
            adj[sn].append([dn, soft])
            if soft:
                soft_preds.add(dn)
            else:
                hard[dn] += 1
        for dn in soft_preds:
            hard[dn] += 1
        inputs = {
            var: {"required": r, "default": None if d is None else self.shared(d), "ref": None}
            for var, (r, d) in self.reads.items()
        }
        outputs = {var: dict(_UNBOUND_OUT) for var in self.writes}
        return {
            "schema_version": SCHEMA_VERSION,
            "type": "graph",
            "name": g.name,
            "full_name": g.full_name,
            "concurrency": g.concurrency,
            "inputs": inputs,
            "outputs": outputs,
            "ops": ops,
            "edges": edges,
            "entries": list(g._entries),
            "exits": list(exits),
            "initial_ready_count": hard,
            "compiled_adj": adj,
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


class _TextWriter:
    """Writes the engine document straight to JSON text (no intermediate dicts).

    Op and graph names are validated (letters, digits, ``_``, ``-``), so they
    are written without escaping; every other string goes through the JSON
    string encoder.
    """

    __slots__ = ("hosts", "host_ids", "gname", "reads", "writes", "specs")

    def __init__(self) -> None:
        self.hosts: list = []
        self.host_ids: dict[int, int] = {}
        self.gname = ""
        self.reads: dict[str, list] = {}
        self.writes: dict[str, None] = {}
        self.specs: dict[int, tuple] = {}

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
            return f'{{"__ref__":{self.ref(v, None)}}}'
        return self.host(v)

    def ref(self, r: Ref, param_default: list | None) -> str:
        src = r._src
        var = r._var
        if src is PARENT:
            source = self.gname
            _note_parent_read(self.reads, var, param_default)
        else:
            source = src.full_name
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

    def graph(self, g: GraphOp) -> str:
        self.gname = g.full_name
        exits = g._exits
        ops: list[str] = []
        code_op = self.code_op
        spec_doc = self.spec_doc
        last_spec = None
        sd: tuple = ()
        for name, node in g._ops.items():
            if type(node) is FuncOp or node.type == "code":
                spec = node._spec  # type: ignore[attr-defined]
                if spec is not last_spec:
                    sd = spec_doc(spec)
                    last_spec = spec
                ops.append(code_op(node, name in exits, sd))  # type: ignore[arg-type]
            else:
                raise NotImplementedError(
                    f"op {node.full_name!r}: type {node.type!r} cannot be exported yet"
                )
        edges: list[str] = []
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
        inputs = ",".join(
            [
                f'{_q(var)}:{{"required":{"true" if r else "false"},'
                f'"default":{"null" if d is None else self.shared(d)},"ref":null}}'
                for var, (r, d) in self.reads.items()
            ]
        )
        outputs = ",".join([f"{_q(var)}:{_UNBOUND_TXT}" for var in self.writes])
        concurrency = "null" if g.concurrency is None else str(int(g.concurrency))
        ops_txt = ",".join(ops)
        edges_txt = ",".join(edges)
        entries_txt = ",".join([f'"{n}"' for n in g._entries])
        exits_txt = ",".join([f'"{n}"' for n in exits])
        irc_txt = ",".join([f'"{n}":{c}' for n, c in hard.items()])
        adj_txt = ",".join([f'"{n}":[{",".join(a)}]' for n, a in adj.items()])
        return (
            f'{{"schema_version":"{SCHEMA_VERSION}","type":"graph","name":"{g.name}",'
            f'"full_name":"{g.full_name}","concurrency":{concurrency},'
            f'"inputs":{{{inputs}}},"outputs":{{{outputs}}},"ops":{{{ops_txt}}},'
            f'"edges":[{edges_txt}],"entries":[{entries_txt}],"exits":[{exits_txt}],'
            f'"initial_ready_count":{{{irc_txt}}},"compiled_adj":{{{adj_txt}}}}}'
        )


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


def export_config(graph: GraphOp) -> dict:
    """The graph document as a JSON-ready dict (what ``GraphOp.export_config()`` returns)."""
    return _Writer(None).graph(graph)


def engine_document(graph: GraphOp, freeze: bool = False) -> tuple[str, list]:
    """The document the Rust core compiles: ``(json_text, host_objects)``.

    Every literal, default and transform argument is written ``{"$host": i}``,
    an index into ``host_objects``; each code op has ``"callable": {"$host": i}``,
    the plain function to call. With ``freeze=True`` the graph is also marked
    as built (as ``graph._mark_built()`` does): adding ops or edges to it
    afterwards raises ``OperonUsageError``.
    """
    w = _TextWriter()
    text = w.graph(graph)
    if freeze:
        graph._mark_built()
    return text, w.hosts
