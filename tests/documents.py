"""Helpers the document tests share: the engine document read back as export_config writes it, and
the shapes of refs and params in a document."""

import json

from operonx import GraphOp
from operonx._authoring.writer import jsonable
from operonx.document import engine_document


def unhost(value, hosts):
    """The engine document with every {"$host": i} replaced as export_config writes it."""
    if isinstance(value, dict):
        if set(value) == {"$host"}:
            obj = hosts[value["$host"]]
            if callable(obj) and not isinstance(obj, type):
                return {"func_name": obj.__qualname__}
            return jsonable(obj)
        return {k: unhost(v, hosts) for k, v in value.items()}
    if isinstance(value, list):
        return [unhost(v, hosts) for v in value]
    return value


#: the root keys the export shows and the engine document leaves out (the engine reads the edges)
INFORMATIONAL = ("initial_ready_count", "compiled_adj")


def engine_view(exported: dict) -> dict:
    """An exported document as the engine document says it: without the root's informational keys."""
    return {k: v for k, v in exported.items() if k not in INFORMATIONAL}


def same_documents(g: GraphOp) -> dict:
    """export_config() and the engine document say the same thing (the export also shows the root's
    ready counts and adjacency); returns export_config()."""
    text, hosts = engine_document(g)
    doc = unhost(json.loads(text), hosts)
    stack = [doc]
    while stack:
        d = stack.pop()
        for o in d["ops"].values():
            o.pop("callable", None)
            if o["type"] == "graph":
                stack.append(o["graph"])
    exported = g.export_config()
    assert doc == engine_view(exported)
    return exported


def ref(source, var, transforms=()):
    return {"source": source, "var": var, "transforms": [list(t) for t in transforms], "is_output": False}


UNBOUND = {"required": False, "default": None, "ref": None}


def mapped(source, var):
    return {"required": False, "default": None, "ref": ref(source, var)}
