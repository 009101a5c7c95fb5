"""The built-in text ops (spec.md "Built-in ops and op options"): ParserOp (JSON, XML and YAML text, code
fences, dot paths, typed fields, validators with fallbacks, failures reported as values) and PromptOp
(a template rendered into chat messages), both run by the engine in Rust."""

from __future__ import annotations

import asyncio

import pytest

from operonx import END, PARENT, START, GraphOp, Operon, ParserOp, PromptOp, op
from operonx.errors import GraphTypeError, OperonError

pytestmark = pytest.mark.timeout(30)
T = 10


def parser_graph(fmt: str, extract: list[str], validators: bool = False) -> GraphOp:
    inputs = {"text": PARENT["text"]}
    if validators:
        inputs["validators"] = PARENT["v"]
    with GraphOp(name="g") as g:
        p = ParserOp(name="p", format=fmt, extract=extract, inputs=inputs)
        START >> p >> END
    return g


def outputs(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "$state"}


def test_the_import_paths_of_0_7_1():
    from operonx.core import ParserOp as core_parser
    from operonx.core.ops import ParserOp as ops_parser, PromptOp as ops_prompt

    assert core_parser is ParserOp and ops_parser is ParserOp and ops_prompt is PromptOp


def test_json_in_a_code_fence_with_dot_paths_and_types():
    g = parser_graph("json", ["a.b: int", "c: bool", "d", "e.f: str", "gone.x: float"])
    text = '```json\n{"a": {"b": "7"}, "c": "yes", "d": [1, 2], "e": {"f": "  hi \\n"}}\n```'
    out = Operon(g).run_sync({"text": text})
    assert outputs(out) == {"b": 7, "c": True, "d": [1, 2], "f": "hi", "x": None}
    assert out["$state"]["g.p", "error"] is None


@pytest.mark.parametrize(
    ("raw", "kind", "expected"),
    [
        ('"12"', "int", 12), ("3.9", "int", 3), ('"x"', "int", "x"), ('"2.5"', "float", 2.5), ("2", "float", 2.0),
        ('"TRUE"', "bool", True), ('"1"', "bool", True), ('"no"', "bool", False), ('""', "bool", False),
        ("0", "bool", False), ("5", "str", "5"), ('" a "', "str", "a"), ("null", "str", None),
        ('{"k": 1}', "dict", {"k": 1}), ("[1]", "", [1]),
    ],
)
def test_types_convert_when_they_can(raw, kind, expected):
    field = f"v: {kind}" if kind else "v"
    assert Operon(parser_graph("json", [field])).run_sync({"text": f'{{"v": {raw}}}'})["v"] == expected


def test_xml_single_root_several_elements_and_repeats():
    g = parser_graph("xml", ["r.a: int", "r.items.i", "r.flag: bool"])
    out = Operon(g).run_sync({"text": "<r><a>5</a><items><i>x</i><i>y</i></items><flag>true</flag></r>"})
    assert outputs(out) == {"a": 5, "i": ["x", "y"], "flag": True}
    flat = parser_graph("xml", ["a: int", "b"])
    assert outputs(Operon(flat).run_sync({"text": "<a>1</a>\n<b>two &amp; three</b>"})) == {"a": 1, "b": "two & three"}


def test_yaml():
    g = parser_graph("yaml", ["a.b: float", "n: bool", "tags"])
    out = Operon(g).run_sync({"text": "```yaml\na:\n  b: 2\nn: no\ntags: [x, y]\n```"})
    assert outputs(out) == {"b": 2.0, "n": False, "tags": ["x", "y"]}


@pytest.mark.parametrize(
    ("fmt", "text", "start"),
    [("json", "{bad", "Parse error (json): "), ("xml", "<r><a></r>", "Parse error (xml): "),
     ("yaml", "a: [1, 2", "Parse error (yaml): "), ("json", "   ", "Empty input text")],
)
def test_a_parse_failure_is_a_value_not_an_error(fmt, text, start):
    out = Operon(parser_graph(fmt, ["a"])).run_sync({"text": text})
    assert outputs(out) == {}  # the fields are absent, and error is never a graph output
    assert out["$state"]["g.p", "error"].startswith(start)


def test_validators_allow_values_and_fall_back():
    engine = Operon(parser_graph("json", ["label", "score: int"], validators=True))
    text = '{"label": "spam", "score": 3}'
    assert outputs(engine.run_sync({"text": text, "v": {"label": ["spam", "ham"]}})) == {"label": "spam", "score": 3}
    assert engine.run_sync({"text": text, "v": {"label": ["ham", "@other"]}})["label"] == "other"
    assert engine.run_sync({"text": text, "v": {"label": ["@spam", "ham"]}})["label"] == "spam"
    failed = engine.run_sync({"text": text, "v": {"label": ["ham", "eggs"]}})
    assert outputs(failed) == {}
    assert failed["$state"]["g.p", "error"] == "Validation failed: 'label' value 'spam' not in ['ham', 'eggs']"
    bad = engine.run_sync({"text": text, "v": ["label"]})
    assert bad["$state"]["g.p", "error"].startswith("validators must be a dict")


def test_a_downstream_op_reads_the_fields_and_the_error():
    @op
    def report(label, error=None):  # None is "absent": the default applies
        return {"report": f"{label}/{error}"}

    with GraphOp(name="g") as g:
        p = ParserOp(format="json", extract=["label"], inputs={"text": PARENT["text"]})
        r = report(label=p["label"], error=p["error"])
        START >> p >> r >> END
    assert g.ops["p"].outputs.keys() == {"label", "error"}
    assert Operon(g).run_sync({"text": '{"label": "a"}'})["report"] == "a/None"


def test_parser_options_are_checked():
    with GraphOp(name="g"):
        with pytest.raises(OperonError, match="format"):
            ParserOp(format="csv", extract=["a"], inputs={"text": PARENT["t"]})
        with pytest.raises(GraphTypeError, match="extract"):
            ParserOp(format="json", extract=None, inputs={"text": PARENT["t"]})
        with pytest.raises(GraphTypeError, match="'txt' is not one of its inputs"):
            ParserOp(format="json", extract=["a"], inputs={"txt": PARENT["t"]})
        with pytest.raises(GraphTypeError, match="'error' is not an output"):
            ParserOp(format="json", extract=["a"], inputs={"text": PARENT["t"]}, outputs={"error": PARENT["e"]})


def test_the_document_of_a_parser_and_its_0_7_1_defaults():
    with GraphOp(name="g") as g:
        p = ParserOp(extract=["a.b: int"], inputs={"text": PARENT["t"]})
        START >> p >> END
    assert p.format == "xml"  # 0.7.1's default
    doc = g.export_config()["ops"]["p"]
    assert (doc["type"], doc["format"], doc["extract"]) == ("parser", "xml", ["a.b: int"])
    assert list(doc["outputs"]) == ["b"]
    assert p.type == "parser"


async def test_a_prompt_renders_chat_messages():
    with GraphOp(name="g") as g:
        pr = PromptOp(
            template={"system": "You are {role}. Use {{braces}}.", "user": "Hello {name}! {name}?"},
            inputs={"role": "helpful", "name": PARENT["name"]},
        )
        START >> pr >> END
    out = await asyncio.wait_for(Operon(g).run({"name": "Ada"}), T)
    assert out["messages"] == [
        {"role": "system", "content": "You are helpful. Use {braces}."},
        {"role": "user", "content": "Hello Ada! Ada?"},
    ]
    doc = g.export_config()["ops"]["pr"]
    assert doc["type"] == "prompt" and doc["template"]["user"] == "Hello {name}! {name}?"


def test_a_prompt_template_string_and_its_checks():
    with GraphOp(name="g") as g:
        pr = PromptOp(template="Count: {n}", inputs={"n": PARENT["n"]})
        START >> pr >> END
    assert Operon(g).run_sync({"n": [1, 2]})["messages"] == [{"role": "user", "content": "Count: [1, 2]"}]
    with pytest.raises(OperonError, match="'n'"):
        Operon(g).run_sync({})
    with GraphOp(name="h"):
        with pytest.raises(GraphTypeError, match="template"):
            PromptOp(template=None)
        with pytest.raises(GraphTypeError, match="'x' is not one of its inputs"):
            PromptOp(template="Hi {name}", inputs={"x": 1})
    with GraphOp(name="k") as k:
        bad = PromptOp(template="broken {", inputs={})
        START >> bad >> END
    with pytest.raises(OperonError, match="not closed"):
        Operon(k)
