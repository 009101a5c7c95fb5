"""One grammar for a loop's ``until`` text: the engine's, asked when the loop is written.

Texts built from the grammar (names among the loop's variables, literals of every form Python has
for them, operators, parentheses) give, after each iteration, the verdict Python's ``eval`` gives over
the same variables, or fail with the exception it raises. Every construct the grammar lacks is refused
when the loop is written, naming the construct, the loop and the text.
"""

from __future__ import annotations

import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from operonx import END, PARENT, START, GraphOp, Operon, graph, op
from operonx._core import check_until
from operonx.errors import GraphError, OpError

ITERATIONS = 4


@op
def advance(k, seq):
    return {"k": k + 1, **seq[k + 1]}


def engine_verdict(text: str, seq: list[dict]) -> tuple:
    """How the loop ends: ("stopped" | "max", iterations, None) or ("raised", iteration, exception type)."""
    with GraphOp.loop(name="l", until=text, max_iterations=ITERATIONS, k=0, seq=seq, **seq[0]) as g:
        START >> advance(k=PARENT["k"], seq=PARENT["seq"], name="a") >> END
    try:
        result = Operon(g).run_sync({})
    except OpError as e:
        return ("raised", int(e.context[-1].removeprefix("loop_")) + 1, type(e.__cause__))
    stats = result["$state"].loops["l"]
    return ("max" if stats["reached_max"] else "stopped", stats["iterations"], None)


def python_verdict(text: str, seq: list[dict]) -> tuple:
    """The same, with Python's ``eval`` as the stop condition."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # '\d' and the like warn, and keep their backslash
        code = compile(text, "<until>", "eval")
    for iteration in range(1, ITERATIONS + 1):
        try:
            if eval(code, {"__builtins__": {}}, dict(seq[iteration])):  # noqa: S307
                return ("stopped", iteration, None)
        except Exception as e:  # noqa: BLE001
            return ("raised", iteration, type(e))
    return ("max", ITERATIONS, None)


# -- literals, written every way Python reads them -------------------------------------------------

CHARS = "ab'\"\\\n\t\x00\x07é€😀"
SIMPLE = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\a": "\\a", "\b": "\\b",
          "\f": "\\f", "\v": "\\v"}  # fmt: skip
STRINGS = st.one_of(st.sampled_from(["", "a", "k", "é", "a\\d", "'\"", "😀", "\x00"]), st.text(CHARS, max_size=3))


def underscored(rnd, digits: str) -> str:
    """``digits`` with a ``_`` between some of them, as Python allows."""
    return "".join(d + ("_" if i < len(digits) - 1 and rnd.random() < 0.2 else "") for i, d in enumerate(digits))


@st.composite
def int_literal(draw) -> str:
    v = draw(st.one_of(st.integers(0, 20), st.integers(0, 2**70), st.sampled_from([2**63, 2**64, 2**64 + 1])))
    rnd = draw(st.randoms(use_true_random=False))
    form = draw(st.sampled_from(["dec", "hex", "oct", "bin"]))
    if form == "dec":
        return rnd.choice(["0", "00", "0_0"]) if v == 0 else underscored(rnd, str(v))
    prefix, digits = {"hex": ("x", f"{v:x}"), "oct": ("o", f"{v:o}"), "bin": ("b", f"{v:b}")}[form]
    digits = "".join(c.upper() if rnd.random() < 0.5 else c for c in digits)
    lead = "_" if rnd.random() < 0.2 else ""
    return f"0{prefix if rnd.random() < 0.5 else prefix.upper()}{lead}{underscored(rnd, digits)}"


@st.composite
def float_literal(draw) -> str:
    rnd = draw(st.randoms(use_true_random=False))
    digits = st.text("0123456789", min_size=1, max_size=4)
    whole, fraction = draw(digits), draw(digits)
    exponent = ""
    if rnd.random() < 0.5:
        power = underscored(rnd, draw(st.text("0123456789", min_size=1, max_size=2)))
        exponent = rnd.choice("eE") + rnd.choice(["", "+", "-"]) + power
    form = rnd.choice(["whole.fraction", ".fraction", "whole."] + (["whole"] if exponent else []))
    w, f = underscored(rnd, whole), underscored(rnd, fraction)
    text = {"whole.fraction": f"{w}.{f}", ".fraction": f".{f}", "whole.": f"{w}.", "whole": w}[form]
    return text + exponent


def escaped(rnd, c: str, quote: str, triple: bool) -> str:
    """One character of a (not raw) string literal: as itself, or one of its escapes."""
    n = ord(c)
    forms = [f"\\U{n:08x}"]
    if c not in "\\\n\r\x00" and c != quote:
        forms.append(c)
    if c == "\n" and triple:
        forms.append(c)
    if c in SIMPLE:
        forms.append(SIMPLE[c])
    if n < 0o1000:
        forms.append(f"\\{n:03o}")
    if n < 0x100:
        forms.append(f"\\x{n:02X}" if rnd.random() < 0.5 else f"\\x{n:02x}")
    if n < 0x10000:
        forms.append(f"\\u{n:04x}")
    return rnd.choice(forms)


@st.composite
def str_literal(draw, values=STRINGS) -> str:
    rnd = draw(st.randoms(use_true_random=False))
    value = draw(values)
    quote = rnd.choice("'\"")
    triple = rnd.random() < 0.25
    if rnd.random() < 0.25:  # raw: backslashes stay, and a backslash keeps even a quote in
        chars = value.replace("\x00", "")  # Python source cannot hold a null character
        body = "".join(rnd.choice([c, "\\" + c]) if c not in "\\\n\r" + quote else "\\" + c for c in chars)
        opening = rnd.choice("rR") + quote * (3 if triple else 1)
    else:
        parts = [escaped(rnd, c, quote, triple) for c in value]
        # an unknown escape keeps its backslash; a backslash at a line's end joins the next line
        parts += [rnd.choice(["\\d", "\\8", "\\ ", "\\\n", "\\c"]) for _ in range(rnd.randrange(3))]
        rnd.shuffle(parts)
        body = "".join(parts)
        opening = rnd.choice(["", "u", "U"]) + quote * (3 if triple else 1)
    return opening + body + quote * (3 if triple else 1)


# -- expressions: (text, precedence), parenthesized where Python needs it ----------------------------

OR, AND, NOT, CMP, ADD, MUL, UNARY, POW, ATOM = range(1, 10)


def operand(rnd, expr: tuple[str, int], need: int) -> str:
    text, prec = expr
    return f"({text})" if prec < need or rnd.random() < 0.15 else text


def join(rnd, left: str, symbol: str, right: str) -> str:
    space = " " if symbol.isalpha() or rnd.random() < 0.7 else ""
    return f"{left}{space}{symbol}{space}{right}"


@st.composite
def number(draw, depth: int) -> tuple[str, int]:
    rnd = draw(st.randoms(use_true_random=False))
    kind = draw(st.sampled_from(["leaf"] * 3 + (["unary", "add", "mul", "pow", "item"] if depth > 0 else [])))
    if kind == "leaf":
        names = st.sampled_from(["i", "j", "x", "b", "True", "False", "x.real", "i.imag"])
        return (draw(st.one_of(names, int_literal(), float_literal())), ATOM)
    if kind == "unary":
        return (rnd.choice("-+") + operand(rnd, draw(number(depth - 1)), UNARY), UNARY)
    if kind == "item":
        return (f"l[{draw(number(depth - 1))[0]}]", ATOM)
    if kind == "pow":
        exponent = rnd.choice(["0", "1", "2", "3", "-1", "-2", "(2)"])
        return (join(rnd, operand(rnd, draw(number(depth - 1)), ATOM), "**", exponent), POW)
    level, symbol = (ADD, rnd.choice(["+", "-"])) if kind == "add" else (MUL, rnd.choice(["*", "/", "//", "%"]))
    left, right = draw(number(depth - 1)), draw(number(depth - 1))
    return (join(rnd, operand(rnd, left, level), symbol, operand(rnd, right, level + 1)), level)


@st.composite
def text(draw, depth: int) -> tuple[str, int]:
    rnd = draw(st.randoms(use_true_random=False))
    kind = draw(st.sampled_from(["leaf"] * 3 + (["add", "mul", "item"] if depth > 0 else [])))
    if kind == "leaf":
        literals = st.lists(str_literal(), min_size=1, max_size=2).map(lambda parts: " ".join(parts))
        return (draw(st.one_of(st.just("s"), literals)), ATOM)
    if kind == "item":
        return (f"d[{draw(str_literal(st.one_of(st.just('k'), STRINGS)))}]", ATOM)
    if kind == "mul":
        return (join(rnd, operand(rnd, draw(text(depth - 1)), MUL), "*", rnd.choice("0123")), MUL)
    left, right = draw(text(depth - 1)), draw(text(depth - 1))
    return (join(rnd, operand(rnd, left, ADD), "+", operand(rnd, right, ADD + 1)), ADD)


@st.composite
def condition(draw, depth: int = 3) -> tuple[str, int]:
    rnd = draw(st.randoms(use_true_random=False))
    kind = draw(st.sampled_from(["compare"] * 3 + ["value", "is"] + (["not", "and", "or"] if depth > 0 else [])))
    values = st.one_of(number(2), text(2))
    if kind == "value":
        return draw(values)
    if kind == "compare":
        same = draw(st.sampled_from([number(2), text(2), values]))
        parts = [operand(rnd, draw(same), ADD)]
        for _ in range(rnd.randrange(1, 4)):
            parts += [rnd.choice(["==", "!=", "<", "<=", ">", ">="]), operand(rnd, draw(same), ADD)]
        return (" ".join(parts), CMP)
    if kind == "is":
        if rnd.random() < 0.5:  # `is` compares with a singleton: the same as == for these values
            left = operand(rnd, draw(st.one_of(values, st.just(("z", ATOM)))), ADD)
            return (f"{left} {rnd.choice(['is', 'is not'])} None", CMP)
        truth = draw(st.one_of(st.just(("b", ATOM)), condition(depth=0)))
        return (f"({truth[0]}) {rnd.choice(['is', 'is not'])} {rnd.choice(['True', 'False'])}", CMP)
    if kind == "not":
        return ("not " + operand(rnd, draw(condition(depth - 1)), NOT), NOT)
    level = AND if kind == "and" else OR
    left, right = draw(condition(depth - 1)), draw(condition(depth - 1))
    return (join(rnd, operand(rnd, left, level), kind, operand(rnd, right, level + 1)), level)


INTS = st.one_of(st.integers(-3, 3), st.integers(-(2**70), 2**70), st.sampled_from([2**64, 2**64 + 1, -(2**63)]))
FLOATS = st.one_of(st.sampled_from([0.0, 0.5, 1.0, -1.5, 1000.0, 0.0015, 1e11]), st.floats(-1e6, 1e6))
STATE = st.fixed_dictionaries({
    "i": st.integers(-3, 3), "j": INTS, "x": FLOATS, "s": STRINGS, "b": st.booleans(),
    "z": st.one_of(st.none(), st.integers(0, 2)), "l": st.lists(st.integers(-3, 3), max_size=3),
    "d": st.dictionaries(STRINGS, STRINGS, max_size=2).map(lambda d: {"k": "a", **d}),
})  # fmt: skip


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(until=condition(), seq=st.lists(STATE, min_size=ITERATIONS + 1, max_size=ITERATIONS + 1))
def test_an_until_of_the_grammar_gives_pythons_verdict_after_each_iteration(until, seq):
    text, _ = until
    assert engine_verdict(text, seq) == python_verdict(text, seq), text


@pytest.mark.parametrize(
    "literal",
    ["0x1F", "0O17", "0b1_01", "0X_ff", "0xFFFF_FFFF_FFFF_FFFF_F", r"'\a\b\f\v'", r"'\101\777'",
     r"'\x41\u20ac\U0001F600'", r"'a\d'", "'a\\\nb'", r"r'\n\''", "U'x' \"y\"", "'''a'b'''"],
)  # fmt: skip
def test_each_literal_form_is_the_value_python_reads(literal):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v = eval(literal)  # noqa: S307
    # the loop stops at the iteration whose v is the literal's value, and at no other
    seq = [{"v": None}, {"v": None}, {"v": v}] + [{"v": None}] * (ITERATIONS - 2)
    assert engine_verdict(f"v == {literal}", seq) == ("stopped", 2, None)


# -- what the grammar lacks is refused when the loop is written ----------------------------------------

UNSUPPORTED = [
    ("count(n)", "function calls"),
    ("n.bit_length() > 1", "function calls"),
    ("n in [1, 2]", "'in'"),
    ("n not in (1, 2)", "'not in'"),
    ("(lambda: n)", "lambda"),
    ("n if n else 1", "conditional expressions"),
    ("[n] == [1]", "list literals"),
    ("[x for x in n]", "list comprehensions"),
    ("{'a': n}", "dict literals"),
    ("{k: 1 for k in n}", "dict comprehensions"),
    ("{n, 1}", "set literals"),
    ("{x for x in n}", "set comprehensions"),
    ("(n, 1)", "tuples"),
    ("n, 1", "tuples"),
    ("(x for x in n)", "generator expressions"),
    ("(m := n) > 1", "assignment expressions (':=')"),
    ("n << 1", "shifts ('<<')"),
    ("n >> 1", "shifts ('>>')"),
    ("n @ n", "matrix multiplication ('@')"),
    ("n & 1", "'&' is not supported here; write 'and'"),
    ("n | 1", "'|' is not supported here; write 'or'"),
    ("~n", "'~' is not supported here; write 'not'"),
    ("n ^ 1", "'^' is not supported here"),
    ("n[*m]", "starred expressions"),
    ("await n", "'await' is not supported"),
    ("n[1:2]", "slices"),
    ("n[::2]", "slices"),
    ("b'x' == n", "bytes literals"),
    ("f'{n}' == n", "f-strings"),
    ("'\\N{EM DASH}' == n", "\\N{...}"),
    ("n == 1j", "imaginary numbers"),
]


@pytest.mark.parametrize("until, construct", UNSUPPORTED)
def test_an_unsupported_construct_is_refused_when_the_loop_is_made_naming_it(until, construct):
    with pytest.raises(GraphError) as info:
        GraphOp.loop(name="lp", until=until, n=0)
    message = str(info.value)
    assert construct in message and "loop 'lp'" in message and repr(until) in message, message


def test_a_graph_decorator_until_is_refused_by_the_same_grammar():
    @graph(until="done(n)")
    def looping(n):
        advance(k=0, seq=[{}, {}])

    with pytest.raises(GraphError, match=r"loop 'looping'.*function calls"):
        looping(n=0)


def test_the_core_check_is_the_one_authoring_asks():
    assert check_until("n >= 0x10 and s == '\\x41'") is None
    with pytest.raises(GraphError, match="lambda expressions are not supported"):
        check_until("lambda: 1")
    for limit in ["(" * 60 + "n" + ")" * 60, " + ".join(["n"] * 600)]:
        with pytest.raises(GraphError, match="levels deep|tokens"):
            GraphOp.loop(name="lp", until=limit, n=0)


@pytest.mark.parametrize(
    ("until", "flag"),
    [
        ("flag is True", 1),
        ("flag is True", True),
        ("flag is False", 0),
        ("flag is not True", 1),
        ("flag is None", 0),
        ("flag is not None", 0),
        ("flag == True", 1),
    ],
)
def test_is_compares_identity_as_python_does(until, flag):
    @op
    def bump_flag(k, flag):
        return {"k": k + 1, "flag": flag}

    with GraphOp.loop(name="lp", until=until, max_iterations=4, k=0, flag=flag) as g:
        b = bump_flag(k=PARENT["k"], flag=PARENT["flag"])
        START >> b >> END
    result = Operon(g).run_sync({})
    stops_at_once = eval(until, {}, {"flag": flag})  # noqa: S307 - the oracle is Python itself
    assert result["k"] == (1 if stops_at_once else 4)
