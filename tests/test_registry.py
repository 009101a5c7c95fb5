"""``operonx.registry``: every ``@op`` function under its qualified name, its ``func_name`` and its bare
name; a clash of qualified names and an ambiguous name are errors naming every definition; the same
definition decorated again (a factory, a reload) replaces its entry; entries leave with their function."""

from __future__ import annotations

import gc
import importlib
import sys

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, op, registry
from operonx.errors import GraphError


def define(source: str, module: str, filename: str) -> dict:
    """Runs ``source`` as the module ``module`` read from ``filename``; returns its namespace."""
    ns: dict = {"__name__": module}
    exec(compile(source, filename, "exec"), ns)
    return ns


@op
def registered_at_module_level(x):
    return {"y": x}


def test_an_op_answers_to_its_qualified_name_func_name_and_bare_name():
    entry = registry.lookup(f"{__name__}.registered_at_module_level")
    assert entry is not None and entry.op is registered_at_module_level
    assert entry.func is registered_at_module_level.func
    assert (entry.qualified_name, entry.func_name, entry.name, entry.module) == (
        f"{__name__}.registered_at_module_level", "registered_at_module_level", "registered_at_module_level", __name__,
    )
    assert entry.file == __file__ and entry.location == f"{__file__}:{entry.line}"
    assert registry.lookup("registered_at_module_level") == entry
    assert entry in registry.entries()

    @op
    def nested_only_here(x):
        return {"y": x}

    by_func_name = registry.lookup("test_an_op_answers_to_its_qualified_name_func_name_and_bare_name.<locals>.nested_only_here")
    assert by_func_name is not None and by_func_name.op is nested_only_here
    assert registry.lookup("nested_only_here") == by_func_name
    assert registry.lookup("no_op_has_this_name") is None
    assert registry.candidates("no_op_has_this_name") == []


def test_entries_are_sorted_by_qualified_name():
    names = [e.qualified_name for e in registry.entries()]
    assert names == sorted(names)


CLASH = """
from operonx import op
kept = []

@op
def twin(x):
    return {"y": 1}

kept.append(twin)

@op
def twin(x):
    return {"y": 2}
"""


def test_two_definitions_of_one_qualified_name_are_an_error_naming_both():
    ns = define(CLASH, "clash_mod", "/virtual/clash_mod.py")
    message = (
        "'clash_mod.twin' names 2 @op functions defined at different places with one qualified name: "
        "'clash_mod.twin' (/virtual/clash_mod.py:5) and 'clash_mod.twin' (/virtual/clash_mod.py:11); "
        "rename one of them"
    )
    with pytest.raises(GraphError) as raised:
        registry.lookup("clash_mod.twin")
    assert str(raised.value) == message
    with pytest.raises(GraphError, match="'twin' names 2 @op functions"):
        registry.lookup("twin")
    with GraphOp(name="twins") as g:
        a = ns["twin"](x=PARENT["x"])
        START >> a >> END
    with pytest.raises(GraphError) as raised:
        Operon.from_json(g.export_config())
    assert f"  - op 'twins.a': {message}" in str(raised.value)
    # the document runs once the one meant is named
    assert Operon.from_json(g.export_config(), ops={"twin": ns["twin"]}).run_sync({"x": 0})["y"] == 2
    # once the first definition is gone, the name is no longer a clash
    ns["kept"].clear()
    gc.collect()
    assert registry.lookup("clash_mod.twin").line == 11


SHARED = """
from operonx import op

@op
def shared_name(x):
    return {"y": __name__}
"""


def test_one_name_in_two_modules_is_ambiguous_while_each_qualified_name_works():
    a = define(SHARED, "amb_a", "/virtual/amb_a.py")
    b = define(SHARED, "amb_b", "/virtual/amb_b.py")
    with pytest.raises(GraphError) as raised:
        registry.lookup("shared_name")
    assert str(raised.value) == (
        "'shared_name' is ambiguous: 2 @op functions answer to it: 'amb_a.shared_name' (/virtual/amb_a.py:4) "
        "and 'amb_b.shared_name' (/virtual/amb_b.py:4); use the qualified name of the one to run, or pass it in ops={...}"
    )
    assert registry.lookup("amb_a.shared_name").op is a["shared_name"]
    assert registry.lookup("amb_b.shared_name").op is b["shared_name"]
    assert [e.qualified_name for e in registry.candidates("shared_name")] == ["amb_a.shared_name", "amb_b.shared_name"]


def test_the_same_definition_decorated_again_replaces_its_entry():
    code = compile(SHARED, "/virtual/again.py", "exec")
    first: dict = {"__name__": "again_mod"}
    exec(code, first)
    second: dict = {"__name__": "again_mod"}
    exec(code, second)  # the same place: a script run again, a factory called again
    assert first["shared_name"] is not second["shared_name"]
    assert registry.lookup("again_mod.shared_name").op is second["shared_name"]
    assert [e.op for e in registry.entries() if e.qualified_name == "again_mod.shared_name"] == [second["shared_name"]]


def test_a_reloaded_module_is_not_a_clash(tmp_path, monkeypatch):
    (tmp_path / "reload_me.py").write_text(SHARED)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("reload_me")
    old = module.shared_name
    try:
        importlib.reload(module)
        assert module.shared_name is not old
        assert registry.lookup("reload_me.shared_name").op is module.shared_name
    finally:
        sys.modules.pop("reload_me", None)


def test_an_entry_leaves_with_its_function():
    def make():
        @op
        def short_lived_op(x):
            return {"y": x}

        return short_lived_op

    f = make()
    assert registry.lookup("short_lived_op").op is f
    del f
    gc.collect()
    assert registry.lookup("short_lived_op") is None
    assert not [e for e in registry.entries() if e.name == "short_lived_op"]


def test_function_of_unwraps_op_functions_only():
    def plain(x):
        return x

    assert registry.function_of(registered_at_module_level) is registered_at_module_level.func
    assert registry.function_of(plain) is plain
