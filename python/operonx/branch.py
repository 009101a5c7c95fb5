"""Branches: pick one of several successor ops by conditions on refs.

::

    from operonx.core.ops import if_

    with GraphOp(name="g") as g:
        router = if_(PARENT["score"] >= 90, "hi").if_(PARENT["score"] >= 50, "mid").else_("lo")
        hi = a(x=PARENT["score"]); mid = b(x=PARENT["score"]); lo = c(x=PARENT["score"])
        START >> router >> [hi, mid, lo] >> END
        router["target"] >> PARENT["t"]

``BranchOp(name=..., cases=[(cond, "target"), ...], default=..., inputs={...})``
is the same node written in one call. The first case whose condition holds
picks its target; no match picks ``default`` (``None``: no target runs). The
outputs are ``target`` (the chosen op's name) and ``matched`` (the chosen
case's text, see :func:`condition_text`, or ``"default"``). Edges to the
targets are wired explicitly, as for any op; a target that is not an op of the
graph is reported when the engine is built.

Inside ``BranchOp(inputs={"s": a["score"]}, cases=[(PARENT["s"] >= 1, "x")])``
a condition's ``PARENT[k]`` reads the branch's own input ``k`` when ``k`` is
one of its inputs (the document writes that ref with the branch's full name
as its source); any other ``PARENT[k]`` reads the graph input ``k``.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping

from operonx.errors import GraphTypeError, OperonUsageError
from operonx._authoring.nodes import OpNode, Param, current_get
from operonx._authoring.scopes import check_binding, check_scope, refs_in
from operonx._authoring.naming import assigned_name, caller_frame, check_name, site_of
from operonx.refs import PARENT, Ref

__all__ = ["Branch", "BranchOp", "condition_text", "if_"]

_OUTPUTS = ("target", "matched")


# ---------------------------------------------------------------------------
# A condition as text
# ---------------------------------------------------------------------------

_ATOM = 10
_BINARY = {
    # kind: (symbol, precedence)
    "pow": ("**", 9),
    "mul": ("*", 7), "truediv": ("/", 7), "floordiv": ("//", 7), "mod": ("%", 7),
    "add": ("+", 6), "sub": ("-", 6),
    "eq": ("==", 4), "ne": ("!=", 4), "lt": ("<", 4), "le": ("<=", 4), "gt": (">", 4), "ge": (">=", 4),
    "and_": ("and", 2),
    "or_": ("or", 1),
}
_UNARY = {"neg": ("-", 8), "pos": ("+", 8), "not_": ("not ", 3)}


def _arg_text(v: Any) -> tuple[str, int]:
    if isinstance(v, Ref):
        return _ref_text(v)
    if callable(v) and hasattr(v, "__name__"):
        return getattr(v, "__qualname__", None) or v.__name__, _ATOM
    return repr(v), _ATOM


def _ref_text(r: Ref) -> tuple[str, int]:
    text, prec = str(r.var_), _ATOM
    for kind, args in r.tf_:
        reflected = kind not in _BINARY and kind[:1] == "r" and kind[1:] in _BINARY
        if reflected or kind in _BINARY:
            sym, p = _BINARY[kind[1:] if reflected else kind]
            other, op_ = _arg_text(args[0])
            if reflected:
                left, lp, right, rp = other, op_, text, prec
            else:
                left, lp, right, rp = text, prec, other, op_
            if p == 9:  # ** binds right to left
                lpar, rpar = lp <= p, rp < p
            elif p == 4:  # comparisons would chain: bracket both sides
                lpar, rpar = lp <= p, rp <= p
            else:
                lpar, rpar = lp < p, rp <= p
            left = f"({left})" if lpar else left
            right = f"({right})" if rpar else right
            text, prec = f"{left} {sym} {right}", p
        elif kind in _UNARY:
            sym, p = _UNARY[kind]
            text, prec = f"{sym}{text if prec >= p else f'({text})'}", p
        elif kind == "abs":
            text, prec = f"abs({text})", _ATOM
        else:
            base = text if prec == _ATOM else f"({text})"
            if kind == "getitem":
                text = f"{base}[{_arg_text(args[0])[0]}]"
            elif kind == "getattr":
                text = f"{base}.{args[0]}"
            elif kind == "call":
                pos, kw = args
                parts = [_arg_text(a)[0] for a in pos] + [f"{k}={_arg_text(a)[0]}" for k, a in kw.items()]
                text = f"{base}({', '.join(parts)})"
            elif kind == "apply":
                parts = [text] + [_arg_text(a)[0] for a in args[1:]]
                text = f"{_arg_text(args[0])[0]}({', '.join(parts)})"
            else:
                text = f"{kind}({text})"
            prec = _ATOM
    return text, prec


def condition_text(condition: Ref) -> str:
    """A condition written as readable Python-like text: the branch's ``matched`` output.

    A ref reads as its variable name (``PARENT["score"]`` and ``op["score"]``
    both read ``score``); operators keep their Python spelling (``score >= 90``,
    ``name.upper()``, ``text['k']``, ``10 - n``), literals their ``repr``
    (``kind == 'x'``), ``~c`` is ``not c``, and ``c1 & c2`` / ``c1 | c2`` are the
    left side's text, ``and`` / ``or``, then the right side's text:
    ``(PARENT["score"] >= 50) & (PARENT["kind"] == "x")`` reads
    ``score >= 50 and kind == 'x'``. Brackets are added only where Python needs
    them to keep the meaning (comparisons are never chained).
    """
    return _ref_text(condition)[0]


# ---------------------------------------------------------------------------
# The branch node
# ---------------------------------------------------------------------------


def _target_name(target: Any, what: str) -> str:
    if isinstance(target, OpNode):
        return target.name
    if type(target) is str:
        return target
    raise GraphTypeError(f"{what} must be an op or an op's name, got {target!r}")


def _setup(
    node: "BranchOp",
    graph: Any,
    name: Any,
    cases: Any,
    default: Any,
    inputs: Mapping[str, Any] | None,
    outputs: Mapping[str, Any] | None,
    auto: bool,
    frame: Any,
) -> None:
    node.name = check_name(name)
    node.full_name = graph.full_name + "." + name
    node.graph = graph
    node.x_ = None
    who = f"branch {name!r}"
    bind: dict[str, Any] = {}
    if inputs is not None:
        if not isinstance(inputs, Mapping):
            raise GraphTypeError(f"{who}: inputs= must be a dict, got {inputs!r}")
        for k, v in inputs.items():
            check_binding(graph, who, k, v)
            bind[k] = v
    node.bind_ = bind
    if cases is None:
        cases = ()
    if isinstance(cases, (str, bytes, Mapping)):
        raise GraphTypeError(f"{who}: cases= must be a list of (condition, target) pairs, got {cases!r}")
    out: list[tuple[Ref, str, str]] = []
    for i, case in enumerate(cases):
        if not isinstance(case, (tuple, list)) or len(case) != 2:
            raise GraphTypeError(f"{who}: case {i} must be a (condition, target) pair, got {case!r}")
        cond, target = case
        if not isinstance(cond, Ref):
            raise GraphTypeError(
                f"{who}: case {i}'s condition must be a ref expression such as PARENT['x'] > 1, "
                f"got {cond!r}"
            )
        check_scope(graph, who, f"case {i}", cond)
        out.append((cond, _target_name(target, f"{who}: case {i}'s target"), condition_text(cond)))
    node.cases_ = out
    node.default_ = None if default is None else _target_name(default, f"{who}: default")
    if outputs is not None:
        if not isinstance(outputs, Mapping):
            raise GraphTypeError(f"{who}: outputs= must be a dict, got {outputs!r}")
        for k, v in outputs.items():
            if not (isinstance(v, Ref) and v.src_ is PARENT and not v.tf_ and v.pol_ is None):
                raise GraphTypeError(
                    f"{who}: output {k!r} can only be mapped to PARENT['name'], got {v!r}"
                )
            node.map_output_(k, v.var_)
    graph.add_(node, auto, site_of(graph, frame))


def _named(name: Any, frame: Any) -> tuple:
    """``(name, auto, frame)`` of a branch made in ``frame``: ``name=``, else the assignment target,
    else ``"branch"`` (a default: made unique in its graph)."""
    auto = False
    if name is None:
        name = assigned_name(frame)
        if name is None:
            name, auto = "branch", True
    return name, auto, frame


class BranchOp(OpNode):
    """A branch: runs the target of the first case whose condition holds.

    ``BranchOp(name=, cases=[(condition, "target"), ...], default=None,
    inputs={...}, outputs={...})``. Conditions are ref expressions (``&`` for
    and, ``|`` for or, ``~`` for not); targets are op names (or the ops
    themselves). ``inputs={"k": ref or literal}`` gives the branch inputs that
    its conditions read as ``PARENT["k"]``; a truthy ``anchor`` input forces its
    own value as the target. Outputs: ``target`` and ``matched`` (map them with
    ``branch["target"] >> PARENT["t"]``). ``candidates`` lists the case
    targets, then the default. The name defaults to the assignment target.
    """

    # the builder's fields (see operonx._authoring.nodes): [(condition, target, text)], the default
    # target, the inputs bound {name: ref or literal}
    __slots__ = ("cases_", "default_", "bind_")
    cases_: list[tuple[Ref, str, str]]
    default_: str | None
    bind_: dict[str, Any]

    type = "branch"
    bound = "sync"
    is_gen = False
    is_async = False
    delay = 0

    def __init__(
        self,
        name: str | None = None,
        cases: Iterable[tuple[Ref, str | OpNode]] | None = None,
        default: str | OpNode | None = None,
        inputs: Mapping[str, Any] | None = None,
        outputs: Mapping[str, Any] | None = None,
    ) -> None:
        graph = current_get()
        if graph is None:
            raise OperonUsageError("BranchOp(...) must be created inside `with GraphOp(...):`")
        name, auto, frame = _named(name, caller_frame(1))
        _setup(self, graph, name, cases, default, inputs, outputs, auto, frame)

    # -- what users read ---------------------------------------------------------

    @property
    def cases(self) -> list[tuple[Ref, str]]:
        """``[(condition, target), ...]`` in order."""
        return [(c, t) for c, t, _ in self.cases_]

    @property
    def texts(self) -> list[str]:
        """Each case's text (what ``matched`` holds when that case wins)."""
        return [x for _, _, x in self.cases_]

    @property
    def default(self) -> str | None:
        """The target when no case matches (``None``: no target runs)."""
        return self.default_

    @property
    def candidates(self) -> list[str]:
        """The case targets in order (each once), then the default."""
        out = list(dict.fromkeys(t for _, t, _ in self.cases_))
        d = self.default_
        if d is not None and d not in out:
            out.append(d)
        return out

    @property
    def inputs(self) -> dict[str, Param]:
        """The branch's own inputs (``inputs={...}``), as ``{name: Param}``."""
        return {k: Param(k, False, None, v) for k, v in self.bind_.items()}

    @property
    def outputs(self) -> dict[str, Param]:
        """``target`` and ``matched``; a mapped output's value is its PARENT ref."""
        omap = self.xget_("omap", None) or {}
        return {
            k: Param(k, False, None, Ref(PARENT, omap[k]) if k in omap else None) for k in _OUTPUTS
        }

    @property
    def metadata(self) -> dict[str, Any]:
        """Kind, full name and candidates of the branch (built on first use)."""
        m = self.xget_("metadata", None)
        if m is None:
            m = {"type": "branch", "name": self.full_name, "candidates": self.candidates}
            self.xset_("metadata", m)
        return m

    def __repr__(self) -> str:
        return f"<BranchOp {self.full_name!r} candidates={self.candidates!r}>"

    # -- wiring hooks -------------------------------------------------------------

    def map_output_(self, key: str, target: str) -> None:
        if key not in _OUTPUTS:
            raise GraphTypeError(
                f"branch {self.name!r}: {key!r} is not an output of a branch; outputs: {list(_OUTPUTS)}"
            )
        self.set_omap_(key, target)

    def bind_input_(self, key: str, ref: Ref) -> None:
        graph = self.graph
        if graph is not None and graph.built_:
            raise OperonUsageError(f"graph {graph.full_name!r} is already built into an engine")
        check_binding(graph, f"branch {self.name!r}", key, ref)
        self.bind_[key] = ref

    def reads_(self) -> Iterator[tuple[str, bool, Any]]:
        # a condition that cannot be evaluated counts as not matched: no read is required
        own = self.bind_
        for cond, _, _ in self.cases_:
            for r in refs_in(cond):
                if r.src_ is PARENT and r.var_ not in own:
                    yield r.var_, True, None
        for v in own.values():
            for r in refs_in(v):
                if r.src_ is PARENT:
                    yield r.var_, True, None

    def forwards_(self, wired_to_end: bool) -> Iterator[str]:
        omap = self.xget_("omap", None)
        if omap:
            yield from omap.values()
        elif wired_to_end:
            yield from _OUTPUTS


# ---------------------------------------------------------------------------
# if_(...).if_(...).else_(...)
# ---------------------------------------------------------------------------


class Branch:
    """The cases of a branch being written: ``if_(c, "a").if_(c2, "b")``.

    ``.else_("default")`` or ``.build()`` (no default) adds the
    :class:`BranchOp` to the current graph and returns it; its name is the
    ``name=`` given there, else the assignment target, else ``"branch"``.
    """

    __slots__ = ("_cases",)

    def __init__(self, cases: list[tuple[Any, Any]]) -> None:
        self._cases = cases

    def if_(self, condition: Ref, target: str | OpNode) -> "Branch":
        """Adds a case, tried after the ones before it."""
        return Branch(self._cases + [(condition, target)])

    elif_ = if_

    def else_(self, target: str | OpNode, *, name: str | None = None) -> BranchOp:
        """Finishes the branch with a default target."""
        return self._make(_named(name, caller_frame(1)), target)

    def build(self, *, name: str | None = None) -> BranchOp:
        """Finishes the branch with no default: when no case matches, no target runs."""
        return self._make(_named(name, caller_frame(1)), None)

    def _make(self, named: tuple, default: Any) -> BranchOp:
        graph = current_get()
        if graph is None:
            raise OperonUsageError("a branch must be built inside `with GraphOp(...):`")
        node = object.__new__(BranchOp)
        _setup(node, graph, named[0], self._cases, default, None, None, named[1], named[2])
        return node

    def __repr__(self) -> str:
        return f"<Branch cases={[t for _, t in self._cases]!r}>"


def if_(condition: Ref, target: str | OpNode) -> Branch:
    """Starts a branch: ``if_(cond, "a").if_(cond2, "b").else_("c")`` (or ``.build()``)."""
    if not isinstance(condition, Ref):
        raise GraphTypeError(
            f"if_() takes a ref expression such as PARENT['x'] > 1 as its condition, got {condition!r}"
        )
    return Branch([(condition, target)])
