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


def same_documents(g: GraphOp) -> dict:
    """export_config() and the engine document say the same thing; returns export_config()."""
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
    assert doc == exported
    return exported


def ref(source, var, transforms=()):
    return {"source": source, "var": var, "transforms": [list(t) for t in transforms], "is_output": False}


UNBOUND = {"required": False, "default": None, "ref": None}


def mapped(source, var):
    return {"required": False, "default": None, "ref": ref(source, var)}
