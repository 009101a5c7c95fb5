"""The part of a code op (``operonx.op.FuncOp``) its graph and the document writer read: its declared
outputs, its inputs and outputs as ``Param`` s, its metadata, and the hooks of ``>>`` wiring."""

from __future__ import annotations

from typing import Any, Iterator

from operonx._authoring.calls import merged_calls
from operonx._authoring.nodes import OpNode, Param, output_params
from operonx._authoring.options import push, unknown
from operonx._authoring.scopes import check_scope, refs_in
from operonx.errors import GraphTypeError
from operonx.refs import PARENT, Ref

__all__ = ["CodeNode"]

class CodeNode(OpNode):
    """A node that calls a Python function: the function's ``OpFunction`` (``spec_``, shared by its
    nodes) and the inputs bound to it (``bind_``, ``{name: ref, pushed refs or literal}``)."""

    __slots__ = ("spec_", "bind_")
    spec_: Any
    bind_: dict[str, Any]

    def declared_(self) -> tuple[str, ...] | None:
        """The output keys: ``return_keys=`` given to the call, else the function's."""
        x = self.x_
        if x is not None:
            rk = x.get("rkeys")
            if rk is not None:
                return rk
        return self.spec_.outputs

    def calls_(self) -> dict:
        """The options of the op's calls that are on: the call's, else the function's."""
        x = self.x_
        if x is not None and "calls" in x:
            return x["calls"] or {}
        return self.spec_.calls or {}

    def set_calls_(self, given: dict) -> None:
        """Sets options of the op's calls (checked values; ``None`` turns one off)."""
        self.xset_("calls", merged_calls(self.calls_(), given))

    @property
    def return_keys(self) -> tuple[str, ...] | None:
        """The declared output keys (``None``: open until run time)."""
        return self.declared_()

    @property
    def inputs(self) -> dict[str, Param]:
        """The op's inputs in signature order (then extra ``**kwargs`` inputs)."""
        spec = self.spec_
        bind = self.bind_
        defaults = spec.defaults
        out: dict[str, Param] = {}
        for p in spec.params:
            has = p in defaults
            out[p] = Param(p, not has, defaults[p] if has else None, bind.get(p))
        for k, v in bind.items():
            if k not in out:
                out[k] = Param(k, False, None, v)
        return out

    @property
    def outputs(self) -> dict[str, Param]:
        """Declared outputs (plus mapped ones); a mapped output's value is its PARENT ref."""
        return output_params(self.declared_() or (), self.xget_("omap", None) or {})

    @property
    def metadata(self) -> dict:
        """Kind, full name, function name and source of the op (built on first use)."""
        m = self.xget_("metadata", None)
        if m is None:
            spec = self.spec_
            m = {
                "type": "code",
                "name": self.full_name,
                "function_name": spec.func_name,
                "code_fn": spec.source,
            }
            self.xset_("metadata", m)
        return m

    # -- wiring hooks -----------------------------------------------------------

    def map_output_(self, key: str, target: str) -> None:
        outs = self.declared_()
        if outs is not None and key not in outs:
            raise GraphTypeError(
                f"op {self.name!r}: {key!r} is not an output of {self.spec_.func_name}(); "
                f"outputs: {list(outs)}"
            )
        self.set_omap_(key, target)

    def bind_input_(self, key: str, ref: Ref) -> None:
        spec = self.spec_
        if key not in spec.param_set and not spec.has_varkw:
            raise unknown(spec, key)
        check_scope(self.graph, f"op {self.name!r}", key, ref)
        self.bind_[key] = push(self, key, ref)

    def reads_(self) -> Iterator[tuple[str, bool, Any]]:
        spec = self.spec_
        defaults = spec.defaults
        params = spec.param_set
        for k, v in self.bind_.items():
            if isinstance(v, Ref):
                first = True
                for r in refs_in(v):
                    if r.src_ is PARENT:
                        if first and k not in params:  # a **kwargs extra: optional
                            yield r.var_, True, None
                        elif first and k in defaults:
                            yield r.var_, True, defaults[k]
                        else:
                            yield r.var_, False, None
                    first = False

    def forwards_(self, wired_to_end: bool) -> Iterator[str]:
        omap = self.xget_("omap", None)
        if omap:
            yield from omap.values()
        elif wired_to_end:
            yield from self.declared_() or ()
