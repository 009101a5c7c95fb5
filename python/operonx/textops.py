"""Built-in text ops, run by the engine itself (in Rust, no Python call): :class:`ParserOp` turns JSON,
XML or YAML text into fields, :class:`PromptOp` renders a template into chat messages.

::

    with GraphOp(name="g") as g:
        ask = PromptOp(template={"system": "Answer in JSON.", "user": "Hello {name}!"},
                       inputs={"name": PARENT["name"]})
        reply = llm(messages=ask["messages"])          # any op returning {"content": "..."}
        fields = ParserOp(format="json", extract=["answer.text: str", "score: float"],
                          inputs={"text": reply["content"]})
        START >> ask >> reply >> fields >> END
"""

from __future__ import annotations

import re
from typing import Any, Iterator, Mapping, Sequence

from json.encoder import encode_basestring as _q

from operonx._authoring.naming import assigned_name, caller_frame, check_name, site_of
from operonx._authoring.nodes import OpNode, Param, current_get
from operonx._authoring.scopes import check_binding, refs_in
from operonx._authoring.write_ops import binding, fixed_outputs
from operonx.errors import GraphError, GraphTypeError, OperonUsageError
from operonx.refs import PARENT, Ref

__all__ = ["ParserOp", "PromptOp"]

_FORMATS = ("json", "xml", "yaml")
_OPTIONAL = [True, None]
_VAR = re.compile(r"(?<!\{)\{([A-Za-z0-9_]+)\}(?!\})")


class _TextOp(OpNode):
    """What the two text ops share: fixed inputs bound with ``inputs={...}``, fixed outputs, and the
    document part they write themselves."""

    __slots__ = ("bind_",)
    bind_: dict[str, Any]

    bound = "sync"
    is_gen = False
    is_async = False
    delay = 0
    #: the inputs the op takes (name -> required)
    takes_: Mapping[str, bool] = {}

    def setup_(self, name: Any, inputs: Any, outputs: Any, frame: Any) -> None:
        graph = current_get()
        if graph is None:
            raise OperonUsageError(f"{type(self).__name__}(...) must be created inside `with GraphOp(...):`")
        auto = False
        if name is None:
            name = assigned_name(frame)
            if name is None:
                name, auto = self.type, True
        self.name = check_name(name)
        self.full_name = graph.full_name + "." + name
        self.graph = graph
        self.x_ = None
        self.bind_ = {}
        if inputs is not None:
            if not isinstance(inputs, Mapping):
                raise GraphTypeError(f"{self.type} {name!r}: inputs= must be a dict, got {inputs!r}")
            for k, v in inputs.items():
                self.check_input_(k)
                check_binding(graph, f"{self.type} {name!r}", k, v)
                self.bind_[k] = v
        if outputs is not None:
            if not isinstance(outputs, Mapping):
                raise GraphTypeError(f"{self.type} {name!r}: outputs= must be a dict, got {outputs!r}")
            for k, v in outputs.items():
                if not (isinstance(v, Ref) and v.src_ is PARENT and not v.tf_ and v.pol_ is None):
                    raise GraphTypeError(f"{self.type} {name!r}: output {k!r} can only be mapped to PARENT['name']")
                self.map_output_(k, v.var_)
        graph.add_(self, auto, site_of(graph, frame))

    def check_input_(self, key: Any) -> None:
        if key not in self.takes_:
            raise GraphTypeError(
                f"{self.type} {self.name!r}: {key!r} is not one of its inputs {list(self.takes_)}"
            )

    def keys_(self) -> tuple[str, ...]:
        """The outputs forwarded to the graph."""
        raise NotImplementedError

    @property
    def inputs(self) -> dict[str, Param]:
        """The op's inputs, as ``{name: Param}``."""
        return {k: Param(k, req, None, self.bind_.get(k)) for k, req in self.takes_.items()}

    @property
    def outputs(self) -> dict[str, Param]:
        """The op's outputs; a mapped output's value is its PARENT ref."""
        omap = self.xget_("omap", None) or {}
        return {k: Param(k, False, None, Ref(PARENT, omap[k]) if k in omap else None) for k in self.keys_()}

    def map_output_(self, key: str, target: str) -> None:
        if key not in self.keys_():
            raise GraphTypeError(f"{self.type} {self.name!r}: {key!r} is not an output; outputs: {list(self.keys_())}")
        self.set_omap_(key, target)

    def bind_input_(self, key: str, ref: Ref) -> None:
        self.check_input_(key)
        check_binding(self.graph, f"{self.type} {self.name!r}", key, ref)
        self.bind_[key] = ref

    def reads_(self) -> Iterator[tuple[str, bool, Any]]:
        for k, v in self.bind_.items():
            for r in refs_in(v):
                if r.src_ is PARENT:
                    yield r.var_, not self.takes_.get(k, False), None

    def forwards_(self, wired_to_end: bool) -> Iterator[str]:
        omap = self.xget_("omap", None)
        if omap:
            yield from omap.values()
        elif wired_to_end:
            yield from self.keys_()

    def settings_(self) -> str:
        """The op's own keys of its document part (``,"format":...``)."""
        raise NotImplementedError

    def write_(self, w: Any, wired_to_end: bool) -> str:
        """The op's part of the graph document."""
        head = '{"required":%s,"default":null,'
        ins = ",".join(
            _q(k) + ":" + binding(w, self.bind_.get(k), head % ("true" if req else "false"), None if req else _OPTIONAL)
            for k, req in self.takes_.items()
        )
        outputs, forward_all = fixed_outputs(w, self.xget_("omap", None), self.keys_(), wired_to_end)
        return (
            f'"{self.name}":{{"type":"{self.type}","name":"{self.name}","full_name":"{self.full_name}",'
            f'"enabled":{"true" if self.enabled else "false"}{self.settings_()},"inputs":{{{ins}}},'
            f'"outputs":{{{outputs}}},"forward_all":{forward_all}}}'
        )


class ParserOp(_TextOp):
    """Parses JSON, XML or YAML text into fields, in Rust.

    ``ParserOp(name=, format="xml"|"json"|"yaml", extract=["a.b: int", "c"], inputs={"text": ref,
    "validators": {...}})``. Each ``extract`` entry is a dot path with an optional type (``int``,
    ``float``, ``bool``, ``str``; none keeps the value); its output is named by the path's last segment,
    and is ``None`` when the path is missing. A code fence around the text is stripped. XML: a single
    root ``r`` is ``{"r": {...}}``, several top-level elements merge into one dict, leaves are their
    text, a repeated element is a list. ``validators={"field": ["a", "b", "@c"]}`` allows the listed
    values; an ``"@x"`` entry is allowed too and replaces a value that is not. A parse or validation
    failure is not raised: the fields are absent and the output ``error`` holds the message
    (``Parse error (json): ...``, ``Validation failed: 'field' value 'v' not in [...]``); ``error`` is
    ``None`` on success and is never forwarded to the graph's outputs.
    """

    __slots__ = ("format_", "extract_", "fields_")
    type = "parser"
    takes_ = {"text": True, "validators": False}

    def __init__(
        self,
        name: str | None = None,
        format: str = "xml",  # noqa: A002 - 0.7.1's keyword
        extract: Sequence[str] | None = None,
        inputs: Mapping[str, Any] | None = None,
        outputs: Mapping[str, Any] | None = None,
    ) -> None:
        if format not in _FORMATS:
            raise GraphError(f"ParserOp format must be one of {list(_FORMATS)}, got {format!r}")
        if not extract or isinstance(extract, str) or not all(isinstance(e, str) for e in extract):
            raise GraphTypeError(f"ParserOp needs extract=[...], a list of 'path' or 'path: type' strings, got {extract!r}")
        self.format_ = format
        self.extract_ = tuple(extract)
        self.fields_ = tuple(e.split(":", 1)[0].strip().split(".")[-1] for e in extract)
        self.setup_(name, inputs, outputs, caller_frame(1))

    @property
    def format(self) -> str:
        """``"json"``, ``"xml"`` or ``"yaml"``."""
        return self.format_

    @property
    def extract(self) -> list[str]:
        """The fields extracted, as given."""
        return list(self.extract_)

    def keys_(self) -> tuple[str, ...]:
        return self.fields_

    @property
    def outputs(self) -> dict[str, Param]:
        """The fields, then ``error`` (never forwarded to the graph's outputs)."""
        out = super().outputs
        out["error"] = Param("error", False, None, None)
        return out

    def settings_(self) -> str:
        return f',"format":"{self.format_}","extract":[{",".join(_q(e) for e in self.extract_)}]'


class PromptOp(_TextOp):
    """Renders a template into chat messages, in Rust.

    ``PromptOp(name=, template={"system": "...", "user": "Hello {name}!"}, inputs={"name": ref})``
    (a string template is one user message). The output ``messages`` is a list of ``{"role": ...,
    "content": ...}`` in the template's order; ``{var}`` is replaced by input ``var`` (a string as it
    is, any other JSON value as Python's ``str()`` writes it), ``{{`` and ``}}`` are braces. Every
    variable is a required input.
    """

    __slots__ = ("template_", "vars_")
    type = "prompt"

    def __init__(
        self,
        name: str | None = None,
        template: str | Mapping[str, str] | None = None,
        inputs: Mapping[str, Any] | None = None,
        outputs: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(template, str):
            template = {"user": template}
        if not isinstance(template, Mapping) or not template or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in template.items()
        ):
            raise GraphTypeError(f"PromptOp needs template=, a string or a dict of role -> text, got {template!r}")
        self.template_ = dict(template)
        names = dict.fromkeys(v for text in template.values() for v in _VAR.findall(text))
        self.vars_ = tuple(names)
        self.setup_(name, inputs, outputs, caller_frame(1))

    @property
    def takes_(self) -> dict[str, bool]:  # type: ignore[override]
        return dict.fromkeys(self.vars_, True)

    @property
    def template(self) -> dict[str, str]:
        """The template, role -> text."""
        return dict(self.template_)

    def keys_(self) -> tuple[str, ...]:
        return ("messages",)

    def settings_(self) -> str:
        parts = ",".join(f"{_q(k)}:{_q(v)}" for k, v in self.template_.items())
        return f',"template":{{{parts}}}'
