"""What a call of an ``@op`` function inside a graph does with its keywords: inputs bound, options
set, outputs mapped to ``PARENT[...]``, and the node added to its graph."""

from __future__ import annotations

from typing import Any

from operonx._authoring.calls import CALL_OPTIONS, check_call_option
from operonx._authoring.external import check_executor_options, op_executor
from operonx._authoring.functions import check_bound, check_delay, check_keys
from operonx._authoring.naming import check_name
from operonx._authoring.nodes import OpNode, Terminal
from operonx._authoring.scopes import bad_input, check_scope
from operonx.errors import GraphError, GraphTypeError
from operonx.refs import PARENT, AnyOf, ParentType, Ref

__all__ = [
    "NOT_VALUES", "OPTIONS", "bad_value", "bind_inputs", "options", "parent_var", "push", "setup", "unknown",
]

OPTIONS = frozenset({"name", "inputs", "outputs", "bound", "return_keys", "executor", "ray", *CALL_OPTIONS})
#: builder objects that cannot be an input's value
NOT_VALUES = (OpNode, ParentType, Terminal)


def bad_value(node: Any, key: str, value: Any) -> GraphTypeError:
    return bad_input(f"op {node.name!r}", key, value)


def unknown(spec: Any, key: str) -> GraphTypeError:
    outs = spec.outputs
    return GraphTypeError(
        f"{key!r} is not an input or output of {spec.func_name}(). "
        f"Inputs: {list(spec.params)}, "
        f"Outputs: {list(outs) if outs is not None else 'open (known at run time)'}"
    )


def parent_var(node: Any, key: str, value: Any) -> str:
    if isinstance(value, Ref) and value.src_ is PARENT and not value.tf_:
        return value.var_
    raise GraphTypeError(
        f"op {node.name!r}: output {key!r} can only be mapped to PARENT['name'], got {value!r}"
    )


def setup(node: Any, spec: Any, graph: Any, name: Any, kwargs: dict, auto: bool, site: tuple) -> None:
    """Fill a fresh FuncOp from a call's keywords and add it to ``graph`` (``auto``: ``name`` is a
    default, made unique when taken; ``site``: where the call was written, for a duplicate's error).

    ``name=`` given as a string names the node, also when the function has a parameter called
    ``name``; given as a Ref it binds that parameter."""
    if type(name) is not str or not (name.isidentifier() and name.isascii()):
        check_name(name)  # the full rule (letters, digits, '_' and '-'): raises when it fails
    node.name = name
    node.full_name = graph.full_name + "." + name
    node.graph = graph
    node.spec_ = spec
    node.x_ = None
    node.bind_ = bind = {}
    pset = spec.param_set
    extra = None
    for k, v in kwargs.items():
        if k in pset and (k != "name" or type(v) is Ref):
            if type(v) is Ref:
                src = v.src_
                # refs inside transform arguments can only leave the scope once graphs nest
                if (src is not PARENT and src.graph is not graph) or (
                    v.tf_ and (graph.graph is not None or graph.subs_)
                ):
                    check_scope(graph, f"op {name!r}", k, v)
            elif isinstance(v, NOT_VALUES):
                raise bad_value(node, k, v)
            bind[k] = v
        elif k != "name" or type(v) is Ref:
            if extra is None:
                extra = [(k, v)]
            else:
                extra.append((k, v))
    if extra is not None:
        options(node, spec, extra)
    # graph.add_(node, auto, site), inlined: this runs once per op
    ops = graph.ops_
    if name in ops or graph.built_:
        graph.add_(node, auto, site)  # a built graph, or a name taken
    else:
        ops[name] = node
        node.site_ = site


def options(node: Any, spec: Any, extra: list) -> None:
    """The uncommon part of a call: options, output keywords, ``inputs={...}``."""
    opts = {}
    kws = []
    for k, v in extra:
        if k in OPTIONS and k != "name":  # `name` is here only as a Ref, to bind
            opts[k] = v
        else:
            kws.append((k, v))
    if opts.get("bound") is not None or opts.get("executor") is not None:
        bound, executor = op_executor(opts.get("bound"), opts.get("executor"))
        if bound is not None:
            node.xset_("bound", check_bound(bound))
        if executor is not None:
            node.xset_("executor", executor)
    if opts.get("ray") is not None:
        node.xset_("ray", check_executor_options(opts["ray"]))
    calls = {k: check_call_option(k, opts[k]) for k in CALL_OPTIONS if k in opts}
    if calls:
        if "delay" in calls:
            check_delay(opts["delay"])
        node.set_calls_(calls)
    if opts.get("return_keys") is not None:
        node.xset_("rkeys", check_keys(opts["return_keys"]))
    bind = node.bind_
    for k, v in kws:
        outs = node.declared_()
        if outs is not None and k in outs:
            node.set_omap_(k, parent_var(node, k, v))
        elif spec.has_varkw:
            if type(v) is not Ref and isinstance(v, NOT_VALUES):
                raise bad_value(node, k, v)
            check_scope(node.graph, f"op {node.name!r}", k, v)
            bind[k] = v
        elif outs is None and isinstance(v, Ref) and v.src_ is PARENT and not v.tf_:
            node.set_omap_(k, v.var_)
        else:
            raise unknown(spec, k)
    inputs = opts.get("inputs")
    if inputs is not None:
        bind_inputs(node, spec, inputs)
    outputs = opts.get("outputs")
    if outputs is not None:
        if not isinstance(outputs, dict):
            raise GraphTypeError(f"outputs= must be a dict, got {outputs!r}")
        for k, v in outputs.items():
            node.map_output_(k, parent_var(node, k, v))


def bind_inputs(node: Any, spec: Any, inputs: Any) -> None:
    """``inputs={...}``: inputs not already bound by keyword; ``{"*": PARENT}`` binds every other
    parameter to the graph input of its name."""
    bind = node.bind_
    if not isinstance(inputs, dict):
        raise GraphTypeError(f"inputs= must be a dict, got {inputs!r}")
    star = False
    for k, v in inputs.items():
        if k == "*":
            if v is not PARENT:
                raise GraphTypeError('inputs={"*": ...} only accepts PARENT')
            star = True
            continue
        if k not in spec.param_set and not spec.has_varkw:
            raise unknown(spec, k)
        if type(v) is not Ref and isinstance(v, NOT_VALUES):
            raise bad_value(node, k, v)
        check_scope(node.graph, f"op {node.name!r}", k, v)
        bind.setdefault(k, v)
    if star:
        for p in spec.params:
            if p not in bind:
                bind[p] = Ref(PARENT, p)


def push(node: Any, key: str, ref: Ref) -> Any:
    """``ref >> node[key]``: what input ``key`` is bound to once ``ref`` pushes into it.

    The first push binds the input to ``ref``; each later push from another producer adds to an
    :class:`~operonx.refs.AnyOf` (the first of them with a value when the op runs gives it). An input
    bound by keyword or ``inputs={...}`` takes no push: which of the two should win is ambiguous.
    """
    old = node.bind_.get(key)
    if old is None:
        pushed = node.xget_("pushed", None)
        if pushed is None:
            node.xset_("pushed", {key})
        else:
            pushed.add(key)
        return ref
    if key not in (node.xget_("pushed", None) or ()):
        raise GraphError(
            f"op {node.name!r}: input {key!r} is already bound to {old!r}; "
            f"{ref!r} >> {node.name}[{key!r}] would make it read two things (bind it one way only)"
        )
    refs = old.refs if type(old) is AnyOf else (old,)
    if not ref.tf_ and any(
        r.src_ is ref.src_ and r.var_ == ref.var_ and not r.tf_ and r.pol_ == ref.pol_ for r in refs
    ):
        return old
    return AnyOf(refs + (ref,))
