"""Conditions in the reference interpreter of tests/reference_control.py (the oracle of
tests/test_property_control.py): their sources, their `matched` text, their truth by the spec, and the
emulation of a known engine bug that recognises the examples touching it."""

from __future__ import annotations

import operator


CMP = {"==": operator.eq, "!=": operator.ne, "<": operator.lt,
       "<=": operator.le, ">": operator.gt, ">=": operator.ge}

# A source of a value, read in the scope (graph) of the reader:
#   ("parent", key)      PARENT[key]: a run input (root) or an input of the nested graph
#   ("ref", j, var)      output var of node j of the same graph
#   ("lit", value)       a literal
# A condition:
#   ("cmp", source, sym, const) | ("and", cond, cond) | ("or", cond, cond)


def source_name(src: tuple) -> str:
    """What a condition's text calls a source: PARENT[k] and op[k] both read as k."""
    return src[1] if src[0] == "parent" else src[2]


def condition_text(cond: tuple, names: dict | None = None) -> str:
    """The router's `matched` text for a condition (operonx.branch.condition_text's rules for these
    shapes: `&` reads `and`, `|` reads `or`, brackets only where Python needs them).
    names: source -> the name it is read by (a BranchOp's own inputs)."""

    def text(c) -> tuple[str, int]:  # (text, precedence)
        if c[0] == "cmp":
            _, src, sym, const = c
            return f"{names[src] if names else source_name(src)} {sym} {const!r}", 4
        p = 2 if c[0] == "and" else 1
        (left, lp), (right, rp) = text(c[1]), text(c[2])
        left = f"({left})" if lp < p else left
        right = f"({right})" if rp <= p else right
        return f"{left} {'and' if c[0] == 'and' else 'or'} {right}", p

    return text(cond)[0]


def condition_sources(cond: tuple) -> list[tuple]:
    if cond[0] == "cmp":
        return [cond[1]]
    return condition_sources(cond[1]) + condition_sources(cond[2])


ABSENT = object()


def holds(cond: tuple, read) -> bool:
    """The spec's truth of a condition; read(source) gives the value (None when absent)."""

    def ev(c):
        if c[0] == "cmp":
            return CMP[c[2]](read(c[1]), c[3])
        if c[0] == "and":
            return ev(c[1]) and ev(c[2])
        return ev(c[1]) or ev(c[2])

    try:
        return bool(ev(cond))
    except Exception:
        return False


def engine_holds(cond: tuple, read, absent_operand_none: bool) -> bool:
    """KNOWN BUG emulation, used only to recognise examples that hit it (see the xfail tests of
    test_property_control.py). The engine evaluates `c1 & c2 & ...` as one chain of transforms on c1's
    source: a side that decides `&` / `|` returns from the *whole* chain, and (in an if_() condition,
    absent_operand_none) a right-hand side whose first source is absent is None, its comparison not
    applied. read(source) may give ABSENT."""

    def chain(c):  # the ref the test builds: (source, [transform, ...])
        if c[0] == "cmp":
            return c[1], [("cmp", c[2], c[3])]
        src, ts = chain(c[1])
        return src, ts + [(c[0], c[2])]

    def ev(c, operand):
        src, ts = chain(c)
        v = read(src)
        if v is ABSENT:
            if operand and absent_operand_none:
                return None
            v = None
        for t in ts:
            if t[0] == "cmp":
                v = CMP[t[1]](v, t[2])
                continue
            if (t[0] == "and" and not v) or (t[0] == "or" and v):
                return v
            v = (operator.and_ if t[0] == "and" else operator.or_)(v, ev(t[1], True))
        return v

    try:
        return bool(ev(cond, False))
    except Exception:
        return False
