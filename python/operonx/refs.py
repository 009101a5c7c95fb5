"""References to values that exist only when a graph runs.

A :class:`Ref` names a graph input (``PARENT["x"]``) or an op's output
(``op["y"]``) and may carry a chain of transforms (``ref["k"].upper() + 1``)
that the engine applies to the value before handing it to the consumer.
On a generator's output a ref may also carry a stream policy:
``gen["item"].parallel(max=4)`` or ``gen["item"].collect()``.
"""

from __future__ import annotations

from typing import Any

from operonx.errors import GraphError, GraphTypeError

__all__ = ["AnyOf", "Ref", "PARENT"]


class ParentType:
    """The enclosing graph's inputs and outputs: ``PARENT["x"]``."""

    __slots__ = ()

    def __getitem__(self, key: str) -> "Ref":
        if type(key) is not str:
            raise GraphTypeError(f"PARENT[...] takes a string key, got {key!r}")
        return Ref(PARENT, key)

    def __repr__(self) -> str:
        return "PARENT"

    def __reduce__(self) -> str:
        return "PARENT"


#: The enclosing graph. ``PARENT["x"]`` reads graph input ``x``; as the target
#: of an output mapping (``op["k"] >> PARENT["out"]``) it names a graph output.
PARENT = ParentType()


def _t(ref: "Ref", kind: str, args: tuple) -> "Ref":
    new = Ref.__new__(Ref)
    new.src_ = ref.src_
    new.var_ = ref.var_
    new.tf_ = ref.tf_ + ((kind, args),)
    new.pol_ = ref.pol_
    return new


def _with_policy(ref: "Ref", policy: tuple, what: str) -> "Ref":
    if ref.src_ is PARENT:
        raise GraphError(
            f"{what} applies to an op's output (a generator's items), not to a graph input: "
            f"{ref!r} reads PARENT[{ref.var_!r}]"
        )
    new = Ref.__new__(Ref)
    new.src_ = ref.src_
    new.var_ = ref.var_
    new.tf_ = ref.tf_
    new.pol_ = policy
    return new


class Ref:
    """A value read at run time from a graph input or an op's output.

    Build one with ``PARENT["x"]`` or ``op["y"]``; every operation on it
    (indexing, attribute access, method calls, arithmetic, comparisons,
    ``&``, ``|``, ``~``, :meth:`apply`) returns a new ``Ref`` that records the
    operation instead of performing it. :meth:`parallel` and :meth:`collect`
    return a new ``Ref`` with a stream policy for the edge it feeds; later
    transforms keep the policy.

    The four slots ``src_``, ``var_``, ``tf_`` and ``pol_`` are the builder's
    record of the ref, read by ``operonx._authoring`` (users read
    :attr:`source`, :attr:`var`, :attr:`transforms`, :attr:`policy`). Being
    attributes of ``Ref``, these four names are not recorded as attribute
    reads: write ``ref.apply(getattr, "var_")`` to read one of them from the
    value.
    """

    __slots__ = ("src_", "var_", "tf_", "pol_")
    #: the op (or graph) read from, or ``PARENT``
    src_: Any
    #: the output or input name read
    var_: str
    #: the transforms recorded, as ``((kind, args), ...)``
    tf_: tuple
    #: ``None`` (sequential, the default) or ``(policy, max)``: ``("parallel", int | None)``, ``("collect", None)``
    pol_: "tuple | None"
    # __eq__ returns a Ref, so hashing must stay identity-based.
    __hash__ = object.__hash__
    # __getitem__ builds refs: never iterate a Ref by the sequence protocol.
    __iter__ = None

    def __bool__(self) -> bool:
        # `a and b`, `not a`, `if a:` and `1 < a < 5` would ask for a truth value the graph does not
        # have yet and silently drop a condition; conditions are combined into new refs instead.
        raise TypeError(
            "a Ref has no truth value while the graph is built: combine conditions with "
            "& (and), | (or) and ~ (not), e.g. (PARENT['x'] > 1) & (PARENT['x'] < 5)"
        )

    def __init__(self, source: Any, var: str, transforms: tuple = ()) -> None:
        self.src_ = source
        self.var_ = var
        self.tf_ = tuple(transforms)
        self.pol_ = None

    # -- what the ref points at ---------------------------------------------

    @property
    def source(self) -> str:
        """Full name of the op read from, or ``"__PARENT__"`` for a graph input."""
        src = self.src_
        if src is PARENT:
            return "__PARENT__"
        return src.full_name

    @property
    def source_op(self) -> Any:
        """The op (or graph) read from; ``PARENT`` for a graph input."""
        return self.src_

    @property
    def var(self) -> str:
        """The input or output name read."""
        return self.var_

    @property
    def transforms(self) -> list[tuple[str, tuple[Any, ...]]]:
        """The recorded transforms, as ``[(kind, args), ...]``."""
        return list(self.tf_)

    @property
    def is_parent(self) -> bool:
        """True when the ref reads a graph input (``PARENT[...]``)."""
        return self.src_ is PARENT

    @property
    def policy(self) -> str | None:
        """The stream policy: ``"parallel"``, ``"collect"``, or ``None`` (sequential, the default)."""
        pol = self.pol_
        return None if pol is None else pol[0]

    @property
    def max(self) -> int | None:
        """The cap given to :meth:`parallel` (``None``: no cap, or no parallel policy)."""
        pol = self.pol_
        return None if pol is None else pol[1]

    def __repr__(self) -> str:
        text = f"Ref({self.source!r}, {self.var_!r}"
        n = len(self.tf_)
        if n:
            text += f", transforms={n}"
        pol = self.pol_
        if pol is not None:
            text += f", policy={pol[0]!r}"
            if pol[1] is not None:
                text += f", max={pol[1]!r}"
        return text + ")"

    # -- transforms ----------------------------------------------------------

    def __getitem__(self, key: Any) -> "Ref":
        return _t(self, "getitem", (key,))

    def __getattr__(self, name: str) -> "Ref":
        # reached only for names that are not attributes: a slot of Ref not yet set is an error
        if name[:1] == "_" or name in _SLOTS:
            raise AttributeError(name)
        return _t(self, "getattr", (name,))

    def __call__(self, *args: Any, **kwargs: Any) -> "Ref":
        return _t(self, "call", (args, kwargs))

    def apply(self, fn: Any, *args: Any) -> "Ref":
        """Call ``fn(value, *args)`` on the value at run time."""
        if not callable(fn):
            raise GraphTypeError(f"Ref.apply() needs a callable, got {fn!r}")
        return _t(self, "apply", (fn, *args))

    def parallel(self, max: int | None = None) -> "Ref":  # noqa: A002
        """Run the consumer for a generator's items concurrently.

        Results arrive in completion order, each in its item's context;
        ``max`` (a positive int) caps how many run at once. Only for an op's
        output; the last of ``parallel()`` / ``collect()`` applied wins.
        """
        if max is not None and (type(max) is not int or max < 1):
            raise GraphError(f"parallel(max=...) must be a positive int or None, got {max!r}")
        return _with_policy(self, ("parallel", max), ".parallel()")

    def collect(self) -> "Ref":
        """Call the consumer once, after the generator ends, with the list of all items.

        On the output of a per-item op that is not a generator, the consumer
        is called once per item with a one-element list. Only for an op's
        output; the last of ``parallel()`` / ``collect()`` applied wins.
        """
        return _with_policy(self, ("collect", None), ".collect()")

    def __add__(self, o: Any) -> "Ref":
        return _t(self, "add", (o,))

    def __sub__(self, o: Any) -> "Ref":
        return _t(self, "sub", (o,))

    def __mul__(self, o: Any) -> "Ref":
        return _t(self, "mul", (o,))

    def __truediv__(self, o: Any) -> "Ref":
        return _t(self, "truediv", (o,))

    def __floordiv__(self, o: Any) -> "Ref":
        return _t(self, "floordiv", (o,))

    def __mod__(self, o: Any) -> "Ref":
        return _t(self, "mod", (o,))

    def __pow__(self, o: Any) -> "Ref":
        return _t(self, "pow", (o,))

    def __radd__(self, o: Any) -> "Ref":
        return _t(self, "radd", (o,))

    def __rsub__(self, o: Any) -> "Ref":
        return _t(self, "rsub", (o,))

    def __rmul__(self, o: Any) -> "Ref":
        return _t(self, "rmul", (o,))

    def __rtruediv__(self, o: Any) -> "Ref":
        return _t(self, "rtruediv", (o,))

    def __rfloordiv__(self, o: Any) -> "Ref":
        return _t(self, "rfloordiv", (o,))

    def __rmod__(self, o: Any) -> "Ref":
        return _t(self, "rmod", (o,))

    def __rpow__(self, o: Any) -> "Ref":
        return _t(self, "rpow", (o,))

    def __neg__(self) -> "Ref":
        return _t(self, "neg", ())

    def __pos__(self) -> "Ref":
        return _t(self, "pos", ())

    def __abs__(self) -> "Ref":
        return _t(self, "abs", ())

    def __eq__(self, o: Any) -> "Ref":  # type: ignore[override]
        return _t(self, "eq", (o,))

    def __ne__(self, o: Any) -> "Ref":  # type: ignore[override]
        return _t(self, "ne", (o,))

    def __lt__(self, o: Any) -> "Ref":
        return _t(self, "lt", (o,))

    def __le__(self, o: Any) -> "Ref":
        return _t(self, "le", (o,))

    def __gt__(self, o: Any) -> "Ref":
        return _t(self, "gt", (o,))

    def __ge__(self, o: Any) -> "Ref":
        return _t(self, "ge", (o,))

    def __and__(self, o: Any) -> "Ref":
        return _t(self, "and_", (o,))

    __rand__ = __and__

    def __or__(self, o: Any) -> "Ref":
        return _t(self, "or_", (o,))

    __ror__ = __or__

    def __invert__(self) -> "Ref":
        return _t(self, "not_", ())

    # -- data wiring ---------------------------------------------------------

    def __rshift__(self, other: Ref) -> Ref:
        """``op["k"] >> PARENT["out"]`` maps an output; ``a["k"] >> b["x"]`` binds b's input."""
        if not isinstance(other, Ref):
            return NotImplemented
        if other.tf_ or other.pol_ is not None:
            raise GraphTypeError(f"the target of '>>' must be a plain ref, got {other!r}")
        if other.src_ is PARENT:
            src = self.src_
            if src is PARENT:
                raise GraphTypeError("PARENT[...] >> PARENT[...] maps nothing; map an op's output")
            if self.tf_ or self.pol_ is not None:
                raise GraphTypeError(
                    f"only a plain output can be mapped to PARENT, got {self!r}"
                )
            src.map_output_(self.var_, other.var_)
            return other
        other.src_.bind_input_(other.var_, self)
        return other


class AnyOf:
    """An input several producers push into (``a["k"] >> b["x"]`` and ``c["k"] >> b["x"]``).

    When the op runs, the input takes the value of the first of :attr:`refs` (in the order they were
    pushed) whose op has produced it (a value that is not ``None``). Behind soft edges
    (``a >> ~b``, ``c >> ~b``) that is the producer that ran, or, of two racing ones, the first to
    finish: the soft join starts ``b`` as soon as one of them has finished.
    """

    __slots__ = ("refs",)

    def __init__(self, refs: "tuple[Ref, ...]") -> None:
        #: the producers' refs, in the order they were pushed
        self.refs = refs

    def __repr__(self) -> str:
        return "AnyOf(" + ", ".join(map(repr, self.refs)) + ")"

    def __bool__(self) -> bool:
        raise TypeError("AnyOf has no truth value while the graph is built")


_SLOTS = frozenset(Ref.__slots__)
