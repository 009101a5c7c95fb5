"""Property test: random flat graphs run by the engine agree with the reference interpreter.

Hypothesis draws DAGs of 1-60 ops (edges only from a lower to a higher index) with fan-out and fan-in,
hard and soft edges, every op reached from START, sync / async / cpu ops, inputs from PARENT, from other ops, literals,
None literals and defaults, some ops that raise and some with missing required inputs, several ops
wired to END sharing output keys, edges written one by one or with list syntax, with or without a
GraphOp(concurrency=N) cap. Each graph is built with the public authoring API, run by the engine
and by tests/reference.py (a plain-Python interpreter of the same description), and the two must agree:

- all-sync graphs: the exact execution order, the exact result (list order included), the error raised
  or the exact "$errors" list;
- graphs with async or cpu ops: order-independent facts only (which ops ran, each op's outputs, result
  keys with the multiset of their values, the set of failures). Their refs only point at ops that have
  certainly finished before the reader starts, so values do not depend on timing. Each op must still
  start after its hard predecessors and after one soft predecessor.

In every case $state must hold each finished op's outputs and nothing for the others. A failing example
is shown (note) as operonx code that can be pasted into a bug report.

Two metamorphic variants run the same graphs elsewhere: as the body of a root loop that runs once or
twice (everything repeats exactly, in contexts ("main", "loop_n")), and as a nested graph run once per
item of a two-item stream, or once over the collected items (every body runs once per run of the nested
graph, and the run ends).
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, event, given, note, settings
from hypothesis import strategies as st

from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.errors import InputError, OpError

from reference import FUNCS, REQUIRED, GraphSpec, OpSpec, guaranteed, unreached, upstream
from reference import run as reference_run

RUN_TIMEOUT = 5.0  # seconds per engine run; a 60-op run takes well under 0.3 s in a debug build
INPUTS = {"x": 3, "y": -2, "z": 100, "nul": None}  # "missing" is never given
PARENT_KEYS = ["x", "y", "z", "nul", "missing"]

ORDER: list[str] = []  # op bodies append their tag; reset before every run


class Boom(Exception):
    pass


def _start(tag, fail):
    ORDER.append(tag)
    if fail:
        raise Boom(tag)


# The functions of reference.FUNCS, one per kind of op. Their bodies must stay in step with
# reference.compute.


@op
def fv(a=0, b=0, c=0, k=1, tag=None, fail=False):
    _start(tag, fail)
    return {"v": a + b + c + k}


@op
def fw(a, b=10, k=2, tag=None, fail=False):
    _start(tag, fail)
    return {"w": 2 * a + b + k}


@op
def fvw(b, a=5, k=3, tag=None, fail=False):
    _start(tag, fail)
    return {"v": a + b + k, "w": a - b + k}


@op
async def afv(a=0, b=0, c=0, k=1, tag=None, fail=False, d=0.0):
    _start(tag, fail)
    await asyncio.sleep(d)
    return {"v": a + b + c + k}


@op
async def afw(a, b=10, k=2, tag=None, fail=False, d=0.0):
    await asyncio.sleep(d)
    _start(tag, fail)  # records after the sleep: order facts are not compared for async graphs anyway
    return {"w": 2 * a + b + k}


@op
async def afvw(b, a=5, k=3, tag=None, fail=False, d=0.0):
    _start(tag, fail)
    await asyncio.sleep(d)
    return {"v": a + b + k, "w": a - b + k}


@op(bound="cpu")
def cfv(a=0, b=0, c=0, k=1, tag=None, fail=False):
    _start(tag, fail)
    return {"v": a + b + c + k}


@op(bound="cpu")
def cfw(a, b=10, k=2, tag=None, fail=False):
    _start(tag, fail)
    return {"w": 2 * a + b + k}


@op(bound="cpu")
def cfvw(b, a=5, k=3, tag=None, fail=False):
    _start(tag, fail)
    return {"v": a + b + k, "w": a - b + k}


IMPLS = {
    ("fv", "sync"): fv,
    ("fw", "sync"): fw,
    ("fvw", "sync"): fvw,
    ("fv", "async"): afv,
    ("fw", "async"): afw,
    ("fvw", "async"): afvw,
    ("fv", "cpu"): cfv,
    ("fw", "cpu"): cfw,
    ("fvw", "cpu"): cfvw,
}


# ---------------------------------------------------------------------------
# generation
# ---------------------------------------------------------------------------


@st.composite
def cases(draw):
    """A graph description, how edges are written, and the error mode."""
    n = draw(st.one_of(st.integers(1, 8), st.integers(1, 60)))
    all_sync = draw(st.booleans())
    async_share = 0.0 if all_sync else draw(st.sampled_from([0.2, 0.5, 1.0]))
    fail_share = draw(st.sampled_from([0.0, 0.0, 0.05, 0.15]))
    allow_missing = draw(st.integers(0, 4)) == 0  # ~20% of graphs may lack required inputs
    end_share = draw(st.sampled_from([0.1, 0.3, 0.6]))
    entry_share = draw(st.sampled_from([0.05, 0.1, 0.3]))

    def chance(p):
        return p > 0 and draw(st.integers(0, 999)) < p * 1000

    ops: list[OpSpec] = []
    hard_preds: list[list[int]] = []
    soft_preds: list[list[int]] = []
    entries: list[int] = []
    for i in range(n):
        hp: list[int] = []
        sp: list[int] = []
        # every op is an entry or has a predecessor, so START reaches each one (else the graph is refused)
        if i == 0 or chance(entry_share):
            entries.append(i)
        else:
            near = st.integers(max(0, i - 6), i - 1)
            anywhere = st.integers(0, i - 1)
            pred = st.one_of(near, near, anywhere)
            hp = sorted(set(draw(st.lists(pred, min_size=0, max_size=3))))
            sp = sorted(set(draw(st.lists(pred, min_size=0 if hp else 1, max_size=3))) - set(hp))
            if not hp and not sp:
                hp = [i - 1]
        hard_preds.append(hp)
        soft_preds.append(sp)
        kind = "sync"
        if chance(async_share):
            kind = draw(st.sampled_from(["async", "async", "async", "cpu"]))
        ops.append(
            OpSpec(
                name=f"n{i}",
                func=draw(st.sampled_from(sorted(FUNCS))),
                kind=kind,
                fail=chance(fail_share),
                to_end=chance(end_share),
                delay=draw(st.sampled_from([0.0, 0.0, 0.0, 0.001, 0.003])) if kind == "async" else 0.0,
            )
        )
    if not any(o.to_end for o in ops):
        ops[draw(st.integers(0, n - 1))].to_end = True

    edges = [(u, v, False) for v in range(n) for u in hard_preds[v]]
    edges += [(u, v, True) for v in range(n) for u in soft_preds[v]]
    edges = draw(st.permutations(edges)) if edges else []
    # the declaration order: shuffled, or one op's out-edges (in-edges) together, which list syntax
    # can then write in one statement
    layout = draw(st.sampled_from(["shuffled", "by_source", "by_target"]))
    if layout != "shuffled":
        edges.sort(key=lambda e: e[0] if layout == "by_source" else (e[1], e[2]))
    entries = draw(st.permutations(entries))
    spec = GraphSpec(ops=ops, entries=list(entries), edges=list(edges))
    assert not unreached(n, spec.entries, spec.edges)
    spec.concurrency = draw(st.sampled_from([None, None, None, 1, 2, 3]))
    timing_free = all(o.kind == "sync" for o in ops)

    # Inputs, now that the edges are known.
    sure = guaranteed(spec)
    up = upstream(n, edges)
    for i, o in enumerate(ops):
        params, _ = FUNCS[o.func]
        for p, default in params.items():
            if p == "k":
                o.inputs[p] = ("lit", draw(st.integers(-5, 20)))
                continue
            required = default is REQUIRED
            refs = [(j, var) for j in sorted(sure[i]) for var in FUNCS[ops[j].func][1]]
            if timing_free and (allow_missing or not required):
                # a sync graph is deterministic: refs may point at any op upstream, run or not
                refs += [(j, var) for j in sorted(up[i] - sure[i]) for var in FUNCS[ops[j].func][1]]
            choices = ["parent", "lit"] + ["ref"] * (3 if refs else 0)
            if allow_missing or not required:
                choices += ["unbound", "none"]
            how = draw(st.sampled_from(choices))
            if how == "parent":
                keys = PARENT_KEYS if (allow_missing or not required) else ["x", "y", "z"]
                o.inputs[p] = ("parent", draw(st.sampled_from(keys)))
            elif how == "lit":
                o.inputs[p] = ("lit", draw(st.integers(-50, 50)))
            elif how == "ref":
                j, var = draw(st.sampled_from(refs))
                o.inputs[p] = ("ref", j, var)
            elif how == "none":
                o.inputs[p] = ("lit", None)

    # How each edge is written: runs of edges sharing a source (hard) or a target are grouped into
    # list syntax sometimes; soft edges use `a >> ~b` or `a > b`.
    statements = []
    k = 0
    while k < len(edges):
        u, v, soft = edges[k]
        j = k + 1
        if draw(st.booleans()):
            while j < len(edges) and edges[j][1] == v and edges[j][2] == soft:
                j += 1
            if j - k > 1:
                statements.append(("fan_in", [e[0] for e in edges[k:j]], v, soft))
                k = j
                continue
            while j < len(edges) and edges[j][0] == u and not soft and not edges[j][2]:
                j += 1
            if j - k > 1:
                statements.append(("fan_out", u, [e[1] for e in edges[k:j]]))
                k = j
                continue
        statements.append(("edge", u, v, soft, draw(st.booleans())))
        k += 1

    if fail_share or allow_missing:
        errors = draw(st.sampled_from(["continue", "continue", "continue", "raise"]))
    else:
        errors = draw(st.sampled_from(["continue", "raise"]))
    return spec, statements, errors


def build(spec: GraphSpec, statements, looped: int = 0) -> GraphOp:
    """The graph; with ``looped=n``, the same graph as the body of a loop that runs n times."""
    if looped:
        g = GraphOp.loop(name=spec.name, until=None, max_iterations=looped)
        g.concurrency = spec.concurrency
    else:
        g = GraphOp(name=spec.name, concurrency=spec.concurrency)
    with g:
        _body(spec, statements)
    return g


@op
def _two_items():
    yield {"item": 0}
    yield {"item": 1}


def build_per_item(spec: GraphSpec, statements, policy: str) -> GraphOp:
    """The same graph as a nested graph that runs once per item of a two-item stream."""
    with GraphOp(name=spec.name, concurrency=spec.concurrency) as g:
        gen = _two_items(name="gen")
        item = {"seq": gen["item"], "parallel": gen["item"].parallel(), "collect": gen["item"].collect()}[policy]
        inputs = {k: PARENT[k] for k in ("x", "y", "z", "nul", "missing")}
        with GraphOp(name="body", inputs={**inputs, "item": item}) as body:
            _body(spec, statements)
        START >> gen >> body >> END
    return g


def _body(spec: GraphSpec, statements) -> None:
    """The ops and edges of the example, in the current graph."""
    if True:
        nodes = []
        for o in spec.ops:
            kw = {}
            for p, src in o.inputs.items():
                if src[0] == "parent":
                    kw[p] = PARENT[src[1]]
                elif src[0] == "ref":
                    kw[p] = nodes[src[1]][src[2]]
                else:
                    kw[p] = src[1]
            kw["tag"] = o.name
            if o.fail:
                kw["fail"] = True
            if o.kind == "async":
                kw["d"] = o.delay
            nodes.append(IMPLS[o.func, o.kind](name=o.name, **kw))
        for e in spec.entries:
            START >> nodes[e]
        for s in statements:
            if s[0] == "edge":
                _, u, v, soft, alt = s
                if not soft:
                    nodes[u] >> nodes[v]
                elif alt:
                    nodes[u] > nodes[v]
                else:
                    nodes[u] >> ~nodes[v]
            elif s[0] == "fan_in":
                _, us, v, soft = s
                if soft:
                    [nodes[u] for u in us] > nodes[v]
                else:
                    [nodes[u] for u in us] >> nodes[v]
            else:
                _, u, vs = s
                nodes[u] >> [nodes[v] for v in vs]
        for i, o in enumerate(spec.ops):
            if o.to_end:
                nodes[i] >> END


def to_source(spec: GraphSpec, statements, errors: str, looped: int = 0) -> str:
    """The graph as operonx code (with this module's functions), to paste into a bug report."""
    names = [o.name for o in spec.ops]
    cap = "" if spec.concurrency is None else f", concurrency={spec.concurrency}"
    if looped:
        lines = [f'with GraphOp.loop(name="{spec.name}", until=None, max_iterations={looped}) as g:']
        if cap:
            lines.insert(0, f"# and g.concurrency = {spec.concurrency}")
    else:
        lines = [f'with GraphOp(name="{spec.name}"{cap}) as g:']
    for o in spec.ops:
        args = []
        for p, src in o.inputs.items():
            if src[0] == "parent":
                args.append(f'{p}=PARENT["{src[1]}"]')
            elif src[0] == "ref":
                args.append(f'{p}={names[src[1]]}["{src[2]}"]')
            else:
                args.append(f"{p}={src[1]!r}")
        args.append(f'tag="{o.name}"')
        if o.fail:
            args.append("fail=True")
        if o.kind == "async":
            args.append(f"d={o.delay}")
        lines.append(f'    {o.name} = {IMPLS[o.func, o.kind].__name__}({", ".join(args)}, name="{o.name}")')
    for e in spec.entries:
        lines.append(f"    START >> {names[e]}")
    for s in statements:
        if s[0] == "edge":
            _, u, v, soft, alt = s
            op_ = ">>" if not soft else ">" if alt else ">> ~"
            lines.append(f"    {names[u]} {op_}{'' if op_ == '>> ~' else ' '}{names[v]}")
        elif s[0] == "fan_in":
            _, us, v, soft = s
            lines.append(f"    [{', '.join(names[u] for u in us)}] {'>' if soft else '>>'} {names[v]}")
        else:
            _, u, vs = s
            lines.append(f"    {names[u]} >> [{', '.join(names[v] for v in vs)}]")
    ends = [o.name for o in spec.ops if o.to_end]
    lines.append(f"    [{', '.join(ends)}] >> END" if len(ends) > 1 else f"    {ends[0]} >> END")
    lines.append(f"result = await Operon(g).run({INPUTS!r}, errors={errors!r})")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# the property
# ---------------------------------------------------------------------------


def _multiset(value, count):
    return Counter(value) if count > 1 else Counter([value])


def _describe(err):
    kind = "input" if isinstance(err, InputError) else "op" if isinstance(err, OpError) else repr(err)
    return kind, err.op.removeprefix("g.")


def _check_error_object(err, expected, missing, context=("main",)):
    """``context=None``: any iteration of a root loop."""
    kind, name = _describe(err)
    assert (kind, name) == expected[:2]
    assert err.graph == "g"
    if context is None:
        assert len(err.context) == 2 and err.context[1].startswith("loop_")
    else:
        assert tuple(err.context) == context
    if kind == "op":
        assert isinstance(err.__cause__, Boom) and str(err.__cause__) == name
    else:
        assert err.input in missing[name]


def _check_start_order(spec: GraphSpec, order: list[str]) -> None:
    """Whatever the timing, an op starts after all its hard predecessors and one soft predecessor
    (bodies record themselves when they start, and a predecessor starts before it finishes)."""
    at = {name: i for i, name in enumerate(order)}
    hard: dict[int, list[int]] = {}
    soft: dict[int, list[int]] = {}
    for u, v, s in spec.edges:
        (soft if s else hard).setdefault(v, []).append(u)
    for v, o in enumerate(spec.ops):
        if o.name not in at:
            continue
        for u in hard.get(v, []):
            assert at.get(spec.ops[u].name, len(order)) < at[o.name], (spec.ops[u].name, o.name)
        if v in soft:
            assert min(at.get(spec.ops[u].name, len(order)) for u in soft[v]) < at[o.name], o.name


_reported_hang = False


def _run(engine, errors, source):
    """Runs once on a fresh event loop. A run that hangs fails the example with its graph; the first
    such graph also goes to stderr at once, because shrinking a hang takes RUN_TIMEOUT per attempt and
    the test's own timeout may end it first."""
    global _reported_hang
    ORDER.clear()
    try:
        return asyncio.run(asyncio.wait_for(engine.run(dict(INPUTS), errors=errors), RUN_TIMEOUT))
    except (asyncio.TimeoutError, TimeoutError):
        if not _reported_hang:
            _reported_hang = True
            print(f"engine run did not finish within {RUN_TIMEOUT} s:\n{source}", file=sys.stderr)
        raise AssertionError(f"engine run did not finish within {RUN_TIMEOUT} s") from None


def check(spec: GraphSpec, statements, errors: str, looped: int = 0) -> None:
    """Runs the example and compares; with ``looped=n`` the graph is the body of a loop run n times.
    Its outputs (v, w) are no inputs of its ops, so every iteration repeats the first: the bodies run
    n times over, failures are listed n times, and the result is one iteration's. Errors carry the
    iteration's context."""
    context = ("main", "loop_0") if looped else ("main",)
    repeat = max(looped, 1)
    source = to_source(spec, statements, errors, looped)
    note(source)
    expected = reference_run(spec, INPUTS, errors)
    note(f"reference: order={expected.order} result={expected.result()} failures={expected.failures}")
    timing_free = all(o.kind == "sync" for o in spec.ops)
    event("all sync" if timing_free else "async/cpu ops")
    event(f"errors={errors}")
    event(f"ops: {'1-8' if len(spec.ops) <= 8 else '9-30' if len(spec.ops) <= 30 else '31-60'}")
    if expected.error:
        event(f"run fails ({expected.error[0]} error)")
    elif expected.failures:
        event("$errors lists " + ", ".join(sorted({f[0] for f in expected.failures})) + " errors")
    if any(isinstance(v, list) for v in expected.result().values()):
        event("result has list values")
    if len(expected.outputs) < len(spec.ops):
        event("some ops did not run")
    engine = Operon(build(spec, statements, looped))

    if expected.error is not None:  # errors="raise" and something fails
        with pytest.raises((OpError, InputError)) as info:
            _run(engine, errors, source)
        err = info.value
        if timing_free:
            _check_error_object(err, expected.error, expected.missing, context)
            assert ORDER == expected.order
        else:
            # which failure comes first depends on timing; it must be one of those a full run has
            full = reference_run(spec, INPUTS, "continue")
            by_op = {f[1]: f for f in full.failures}
            _check_error_object(err, by_op.get(_describe(err)[1], ("?", "?")), full.missing, context)
        return

    result = _run(engine, errors, source)
    state = result.pop("$state")
    got_errors = result.pop("$errors", [])
    if errors == "raise":
        assert got_errors == []
    got_failures = [_describe(e) for e in got_errors]
    want_failures = [f[:2] for f in expected.failures] * repeat
    for e in got_errors:
        _check_error_object(e, _describe(e), expected.missing, None if looped > 1 else context)
    if looped > 1:  # each iteration lists its own failures
        per_iteration = Counter(tuple(e.context) for e in got_errors)
        assert all(per_iteration[("main", f"loop_{i}")] == len(expected.failures) for i in range(looped)), (
            per_iteration, expected.failures, got_failures)

    want = expected.result()
    if timing_free:
        assert ORDER == expected.order * repeat
        assert result == want
        assert got_failures == want_failures
    else:
        assert sorted(ORDER) == sorted(expected.order * repeat)
        if repeat == 1:
            _check_start_order(spec, ORDER)
        assert Counter(got_failures) == Counter(want_failures)
        assert result.keys() == want.keys()
        counts = Counter(k for frame in expected.frames for k in frame)
        for key, value in want.items():
            assert _multiset(result[key], counts[key]) == _multiset(value, counts[key]), key

    # every op that finished left its outputs in $state; the others left nothing
    assert state["g", "x"] == INPUTS["x"]
    for o in spec.ops:
        for var in FUNCS[o.func][1]:
            if o.name in expected.outputs:
                assert state[f"g.{o.name}", var] == expected.outputs[o.name][var], (o.name, var)
            else:
                with pytest.raises(KeyError):
                    state[f"g.{o.name}", var]

    if timing_free:  # the same engine runs again, independently, to the same result
        again = _run(engine, errors, source)
        again.pop("$state")
        again.pop("$errors", None)
        assert again == want and ORDER == expected.order * repeat


@pytest.mark.timeout(180)
@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    # no "explain" phase: on Python < 3.12 it traces every line of a failing example, which takes
    # minutes on a 60-op graph; shrinking alone gives a readable counterexample
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
@given(cases())
def test_engine_agrees_with_reference(case):
    check(*case)


@pytest.mark.timeout(180)
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
@given(cases(), st.sampled_from([1, 2]))
def test_a_loop_repeats_its_body_exactly(case, iterations):
    # the same graphs as the body of a root loop: every op then runs in the context ("main", "loop_n"),
    # where the scheduler keeps its counts per context instead of per op, and contexts are reused
    check(*case, looped=iterations)


@pytest.mark.timeout(180)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
)
@given(cases(), st.sampled_from(["seq", "parallel", "collect"]))
def test_the_same_graph_runs_once_per_item_of_a_stream(case, policy):
    # The example as a nested graph fed by each item of a two-item stream (or once, by the collected
    # items): every op body runs once per run of the nested graph, the failures are listed as many
    # times, and the run ends (a hang fails the example).
    spec, statements, errors = case
    expected = reference_run(spec, INPUTS, errors)
    runs = 1 if policy == "collect" else 2
    engine = Operon(build_per_item(spec, statements, policy))
    source = f"per item ({policy}) of:\n" + to_source(spec, statements, errors)
    if expected.error is not None:
        with pytest.raises((OpError, InputError)):
            _run(engine, errors, source)
        return
    result = _run(engine, errors, source)
    assert sorted(ORDER) == sorted(expected.order * runs)
    got = Counter(_describe(e)[1].removeprefix("body.") for e in result.get("$errors", []))
    assert got == Counter({f[1]: runs for f in expected.failures} if expected.failures else {})
