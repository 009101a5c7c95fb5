"""The one document writer: a graph tree as schema-1.0 JSON text plus the host objects it refers to.

Every literal, default and transform argument is written ``{"$host": i}``, an index into the host
list, and each code op has ``"callable": {"$host": i}``, the plain function to call: that is the
document the Rust core compiles (:func:`engine_document`). :func:`export_config` is the same text read
back with the hosts rendered for people and tools: literals that are JSON types stay as they are,
tuples become lists, other objects become ``{"$repr": ...}``, functions appear by name, and the
``callable`` entries are left out.

The writer walks the graph with loops only (nested graphs through an explicit stack), so graphs of
any size and nesting depth are written under the default recursion limit. Ops are told apart by their
``type`` (``"code"``, ``"branch"``, ``"graph"``).
"""

from __future__ import annotations

import json
import sys
from json.encoder import encode_basestring as _q
from typing import Any

from operonx._authoring import write_ops
from operonx._authoring.nodes import mark_built
from operonx._authoring.write_ops import UNBOUND_TXT
from operonx.refs import PARENT, Ref

__all__ = ["SCHEMA_VERSION", "Writer", "engine_document", "export_config", "jsonable"]

#: The document version written (and the only one the engine reads).
SCHEMA_VERSION = "1.0"

_JSON_SCALARS = (str, int, float, bool)


class _Frame:
    """One graph being written: its ops iterator (resumed after a nested graph) and what it collected."""

    __slots__ = ("g", "it", "ops", "reads", "writes", "slot")

    def __init__(self, g: Any, ops: Any, slot: int = 0) -> None:
        self.g = g
        self.it = iter(g.ops_.items())
        # the dict writer: {name: op document}; the text writer: how many ops were written
        self.ops = ops
        self.reads: dict[str, list] = {}
        self.writes: dict[str, None] = {}
        # the text writer: where the graph's head goes in the output, once its reads are known
        self.slot = slot


def jsonable(v: Any) -> Any:
    """A JSON-ready copy of a literal, as :func:`export_config` writes it."""
    t = type(v)
    if v is None or t is str or t is int or t is float or t is bool:
        return v
    if t is list or t is tuple:
        return [jsonable(x) for x in v]
    if t is dict:
        return {
            (k if type(k) in _JSON_SCALARS or k is None else repr(k)): jsonable(x)
            for k, x in v.items()
        }
    return {"$repr": repr(v)}


def _source_of(writer: Any, r: Ref, param_default: list | None) -> str:
    """The ``source`` a ref is written with: the op's full name, the graph's for ``PARENT[k]`` (noting
    the read), or the branch's own full name for one of its inputs."""
    if r.src_ is not PARENT:
        return r.src_.full_name
    local = writer.local
    if local is not None and r.var_ in local[1]:
        return local[0]
    _note_parent_read(writer.reads, r.var_, param_default)
    return writer.gname


def _note_parent_read(reads: dict, var: Any, param_default: list | None) -> None:
    """Records that graph input ``var`` is read: required unless every reader has a default."""
    seen = reads.get(var)
    if seen is None:
        reads[var] = [True, None] if param_default is None else [False, param_default[1]]
    elif param_default is None:
        seen[0] = True


def _policy_text(pol: tuple) -> str:
    text = f',"policy":"{pol[0]}"'
    if pol[1] is not None:
        text += f',"max":{int(pol[1])}'
    return text


class Writer:
    """Writes one document straight to JSON text (no intermediate dicts).

    Op and graph names are validated (letters, digits, ``_``, ``-``), so they are written without
    escaping; every other string goes through the JSON string encoder.
    """

    __slots__ = ("hosts", "host_ids", "gname", "reads", "writes", "specs", "local", "arg_default", "depth")

    #: whether the root also gets ``initial_ready_count`` and ``compiled_adj``: the exported document
    #: shows them (as 0.7.1's does); the engine reads the edges, so its document goes without
    root_informational = False

    def __init__(self) -> None:
        self.hosts: list = []
        # the deepest nesting of graphs written
        self.depth = 1
        self.host_ids: dict[int, int] = {}
        self.gname = ""
        self.reads: dict[str, list] = {}
        self.writes: dict[str, None] = {}
        self.specs: dict[int, tuple] = {}
        # while a branch's conditions are written: (branch full name, its input names)
        self.local: tuple | None = None
        # how a ref inside a transform argument counts as a graph-input read
        self.arg_default: list | None = None

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

    # a transform's function and a loop's callable until: one host slot per object
    fn_host = shared
    until_host = shared
    type_host = shared  # an exception type of an op's retry_on

    def arg(self, v: Any) -> str:
        if isinstance(v, Ref):
            return f'{{"__ref__":{self.ref(v, self.arg_default)}}}'
        return self.host(v)

    def ref(self, r: Ref, param_default: list | None) -> str:
        var = r.var_
        src = r.src_
        # an op's output (the common case) inline; graph inputs and a branch's own go through _source_of
        source = src.full_name if src is not PARENT else _source_of(self, r, param_default)
        var_txt = _q(var) if type(var) is str else json.dumps(var)
        tf = r.tf_
        if not tf:
            if r.pol_ is not None:
                return (
                    f'{{"source":"{source}","var":{var_txt},"transforms":[],"is_output":false'
                    f"{_policy_text(r.pol_)}}}"
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
                inner = "[" + ",".join([self.fn_host(args[0])] + [arg(a) for a in args[1:]]) + "]"
            else:
                inner = "[" + ",".join([arg(a) for a in args]) + "]"
            out.append(f'["{kind}",{inner}]')
        tf_txt = ",".join(out)
        pol_txt = "" if r.pol_ is None else _policy_text(r.pol_)
        return (
            f'{{"source":"{source}","var":{var_txt},"transforms":[{tf_txt}],"is_output":false'
            f"{pol_txt}}}"
        )

    # the per-kind parts (write_ops.py), methods of the writer
    spec_doc = write_ops.spec_doc
    code_op = write_ops.code_op
    binding = write_ops.binding
    fixed_outputs = write_ops.fixed_outputs
    branch_op = write_ops.branch_op
    graph_node_head = write_ops.graph_node_head

    def document(self, root: Any) -> str:
        """The whole document as JSON text.

        Nested graphs are written through an explicit stack, into one list of text pieces in
        document order: a graph's head (which needs what its ops read) is filled into a slot
        reserved before its ops once they are written, so nothing is copied more than once.
        """
        out: list[Any] = [None]
        stack = [_Frame(root, 0, 0)]
        while True:
            f = stack[-1]
            self.enter(f)
            nested = self.ops_text(f, out)
            if nested is not None:
                stack.append(_Frame(nested, 0, len(out)))
                if len(stack) > self.depth:
                    self.depth = len(stack)
                out.append(None)
                continue
            stack.pop()
            if not stack:
                edges, adj, hard = write_ops.edges_text(f.g, self.root_informational)
                out.append(self.root_tail(f, edges, adj, hard))
                out[0] = self.root_head(f)
                return "".join(out)
            self.close_nested(f, stack[-1], out)

    def enter(self, f: _Frame) -> None:
        """Makes ``f``'s graph the one refs are written in and reads and writes are noted for."""
        self.gname = f.g.full_name
        self.reads = f.reads
        self.writes = f.writes

    def ops_text(self, f: _Frame, out: list) -> Any:
        """Appends the ops of ``f``'s graph to ``out``, from where the last call stopped; returns the
        first nested graph met (its own ops are written next), or ``None`` once every op is written."""
        code_op = self.code_op
        spec_doc = self.spec_doc
        append = out.append
        exits = f.g.exits_
        last_spec = None
        sd: tuple = ()
        n = f.ops
        nested = None
        for name, node in f.it:
            if n:
                append(",")
            n += 1
            kind = node.type
            if kind == "code":
                spec = node.spec_
                if spec is not last_spec:
                    sd = spec_doc(spec)
                    last_spec = spec
                append(code_op(node, name in exits, sd))
            elif kind == "branch":
                append(self.branch_op(node, name in exits))
            elif kind == "graph":
                nested = node
                break
            else:  # a node that writes its own part (parser, prompt)
                append(node.write_(self, name in exits))
        f.ops = n
        return nested

    def close_nested(self, f: _Frame, outer: _Frame, out: list) -> None:
        """Ends the nested graph of ``f`` (edges, entries, exits, loop) and fills its head into the
        slot reserved for it, written in the scope of the graph ``outer`` holding it."""
        g = f.g
        edges = write_ops.edges_text(g, False)[0]
        out.append(
            f'}},"edges":[{",".join(edges)}],'
            f'"entries":[{",".join([f"{_q(n)}" for n in g.entries_])}],'
            f'"exits":[{",".join([f"{_q(n)}" for n in g.exits_])}]}}{self.loop_text(g)}}}'
        )
        self.enter(outer)
        out[f.slot] = self.graph_node_head(g, f, g.name in outer.g.exits_)

    def root_head(self, f: _Frame) -> str:
        g = f.g
        bind = g.bind_
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
        outputs = ",".join([f"{_q(var)}:{UNBOUND_TXT}" for var in f.writes])
        concurrency = "null" if g.concurrency is None else str(int(g.concurrency))
        return (
            f'{{"schema_version":"{SCHEMA_VERSION}","type":"graph","name":"{g.name}",'
            f'"full_name":"{g.full_name}","concurrency":{concurrency},'
            f'"inputs":{{{inputs}}},"outputs":{{{outputs}}},"ops":{{'
        )

    def loop_text(self, g: Any) -> str:
        """A loop's ``,"loop":{...}`` entry (empty for a plain graph); a callable ``until`` is a
        host object."""
        cfg = g.xget_("loop", None)
        if cfg is None:
            return ""
        until, max_iterations = cfg
        if until is None:
            until_txt = "null"
        elif isinstance(until, str):
            until_txt = _q(until)
        else:
            until_txt = self.until_host(until)
        return f',"loop":{{"until":{until_txt},"max_iterations":{int(max_iterations)}}}'

    def root_tail(self, f: _Frame, edges: list[str], adj: dict, hard: dict) -> str:
        g = f.g
        edges_txt = ",".join(edges)
        entries_txt = ",".join([f'"{n}"' for n in g.entries_])
        exits_txt = ",".join([f'"{n}"' for n in g.exits_])
        head = f'}},"edges":[{edges_txt}],"entries":[{entries_txt}],"exits":[{exits_txt}]'
        if not self.root_informational:
            return f"{head}{self.loop_text(g)}}}"
        irc_txt = ",".join([f'"{n}":{c}' for n, c in hard.items()])
        adj_txt = ",".join([f'"{n}":[{",".join(a)}]' for n, a in adj.items()])
        return f'{head},"initial_ready_count":{{{irc_txt}}},"compiled_adj":{{{adj_txt}}}{self.loop_text(g)}}}'



def _callable_name(f: Any) -> str:
    return getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or repr(f)


class _Shown:
    """A host slot of the exported document that is shown as ``doc`` (a function by name)."""

    __slots__ = ("doc",)

    def __init__(self, doc: dict) -> None:
        self.doc = doc


class _ExportWriter(Writer):
    """The writer for :func:`export_config`: transform functions and callable ``until`` values go
    into the host list as what the exported document shows for them."""

    __slots__ = ()
    root_informational = True

    def fn_host(self, v: Any) -> str:
        return self.host(_Shown({"func_name": getattr(v, "__qualname__", None) or repr(v)}))

    def until_host(self, v: Any) -> str:
        return self.host(_Shown({"callable": _callable_name(v)}))

    def type_host(self, v: Any) -> str:
        return self.host(_Shown(f"{v.__module__}.{v.__qualname__}"))  # type: ignore[arg-type]


def _render(doc: dict, hosts: list) -> dict:
    """Replaces every ``{"$host": i}`` in ``doc`` as :func:`export_config` shows it and drops the
    code ops' ``callable`` (an explicit stack: any nesting depth)."""
    stack: list[Any] = [doc]
    while stack:
        node = stack.pop()
        items = node.items() if type(node) is dict else enumerate(node)
        for k, v in items:
            t = type(v)
            if t is dict:
                if len(v) == 1 and "$host" in v:
                    h = hosts[v["$host"]]
                    node[k] = h.doc if type(h) is _Shown else jsonable(h)
                else:
                    if v.get("type") == "code":
                        v.pop("callable", None)
                    stack.append(v)
            elif t is list:
                stack.append(v)
    return doc


def export_config(graph: Any) -> dict:
    """The graph document as a JSON-ready dict (what ``GraphOp.export_config()`` returns)."""
    w = _ExportWriter()
    text = w.document(graph)
    # a nested graph is four JSON levels deep: room for the JSON reader at any nesting depth
    limit = sys.getrecursionlimit()
    need = 8 * w.depth + 200
    if need > limit:
        sys.setrecursionlimit(need)
    try:
        doc = json.loads(text)
    finally:
        if need > limit:
            sys.setrecursionlimit(limit)
    return _render(doc, w.hosts)


def engine_document(graph: Any, freeze: bool = False) -> tuple[str, list]:
    """The document the Rust core compiles: ``(json_text, host_objects)``.

    Every literal, default and transform argument is written ``{"$host": i}``,
    an index into ``host_objects``; each code op has ``"callable": {"$host": i}``,
    the plain function to call. With ``freeze=True`` the graph is also marked
    as built (:func:`~operonx._authoring.nodes.mark_built`): adding ops or edges to it
    afterwards raises ``OperonUsageError``.
    """
    w = Writer()
    text = w.document(graph)
    if freeze:
        mark_built(graph)
    return text, w.hosts