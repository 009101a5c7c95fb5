"""The hypothesis strategy of tests/test_property.py: flat graph descriptions (tests/reference.py's
GraphSpec), how their edges are written, and the error mode."""

from __future__ import annotations

from hypothesis import strategies as st

from reference import FUNCS, REQUIRED, GraphSpec, OpSpec, guaranteed, unreached, upstream

PARENT_KEYS = ["x", "y", "z", "nul", "missing"]


class _Knobs:
    """What an example draws first: its size and the shares of async, failing, END-wired and entry ops."""

    def __init__(self, draw):
        self.draw = draw
        self.n = draw(st.one_of(st.integers(1, 8), st.integers(1, 60)))
        self.all_sync = draw(st.booleans())
        self.async_share = 0.0 if self.all_sync else draw(st.sampled_from([0.2, 0.5, 1.0]))
        self.fail_share = draw(st.sampled_from([0.0, 0.0, 0.05, 0.15]))
        self.allow_missing = draw(st.integers(0, 4)) == 0  # ~20% of graphs may lack required inputs
        self.end_share = draw(st.sampled_from([0.1, 0.3, 0.6]))
        self.entry_share = draw(st.sampled_from([0.05, 0.1, 0.3]))

    def chance(self, p):
        return p > 0 and self.draw(st.integers(0, 999)) < p * 1000


@st.composite
def cases(draw):
    """A graph description, how edges are written, and the error mode."""
    kn = _Knobs(draw)
    spec = _draw_spec(kn, *_draw_ops(kn))
    _draw_inputs(kn, spec)
    statements = _draw_statements(draw, spec.edges)
    if kn.fail_share or kn.allow_missing:
        errors = draw(st.sampled_from(["continue", "continue", "continue", "raise"]))
    else:
        errors = draw(st.sampled_from(["continue", "raise"]))
    return spec, statements, errors


def _draw_ops(kn: _Knobs) -> tuple[list[OpSpec], list[int], list[tuple[int, int, bool]]]:
    """The ops, the entries and the edges (from a lower to a higher index), in index order."""
    draw, chance, n = kn.draw, kn.chance, kn.n
    ops: list[OpSpec] = []
    hard_preds: list[list[int]] = []
    soft_preds: list[list[int]] = []
    entries: list[int] = []
    for i in range(n):
        hp: list[int] = []
        sp: list[int] = []
        # every op is an entry or has a predecessor, so START reaches each one (else the graph is refused)
        if i == 0 or chance(kn.entry_share):
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
        if chance(kn.async_share):
            kind = draw(st.sampled_from(["async", "async", "async", "cpu"]))
        ops.append(
            OpSpec(
                name=f"n{i}",
                func=draw(st.sampled_from(sorted(FUNCS))),
                kind=kind,
                fail=chance(kn.fail_share),
                to_end=chance(kn.end_share),
                delay=draw(st.sampled_from([0.0, 0.0, 0.0, 0.001, 0.003])) if kind == "async" else 0.0,
            )
        )
    if not any(o.to_end for o in ops):
        ops[draw(st.integers(0, n - 1))].to_end = True

    edges = [(u, v, False) for v in range(n) for u in hard_preds[v]]
    edges += [(u, v, True) for v in range(n) for u in soft_preds[v]]
    return ops, entries, edges


def _draw_spec(kn: _Knobs, ops: list[OpSpec], entries: list[int], edges: list[tuple[int, int, bool]]) -> GraphSpec:
    """The graph description: the order edges and entries are declared in, and a concurrency cap."""
    draw = kn.draw
    edges = draw(st.permutations(edges)) if edges else []
    # the declaration order: shuffled, or one op's out-edges (in-edges) together, which list syntax
    # can then write in one statement
    layout = draw(st.sampled_from(["shuffled", "by_source", "by_target"]))
    if layout != "shuffled":
        edges.sort(key=lambda e: e[0] if layout == "by_source" else (e[1], e[2]))
    entries = draw(st.permutations(entries))
    spec = GraphSpec(ops=ops, entries=list(entries), edges=list(edges))
    assert not unreached(kn.n, spec.entries, spec.edges)
    spec.concurrency = draw(st.sampled_from([None, None, None, 1, 2, 3]))
    return spec


def _draw_inputs(kn: _Knobs, spec: GraphSpec) -> None:
    """Each op's inputs, now that the edges are known."""
    draw, ops = kn.draw, spec.ops
    timing_free = all(o.kind == "sync" for o in ops)
    sure = guaranteed(spec)
    up = upstream(kn.n, spec.edges)
    for i, o in enumerate(ops):
        params, _ = FUNCS[o.func]
        for p, default in params.items():
            if p == "k":
                o.inputs[p] = ("lit", draw(st.integers(-5, 20)))
                continue
            required = default is REQUIRED
            refs = [(j, var) for j in sorted(sure[i]) for var in FUNCS[ops[j].func][1]]
            if timing_free and (kn.allow_missing or not required):
                # a sync graph is deterministic: refs may point at any op upstream, run or not
                refs += [(j, var) for j in sorted(up[i] - sure[i]) for var in FUNCS[ops[j].func][1]]
            choices = ["parent", "lit"] + ["ref"] * (3 if refs else 0)
            if kn.allow_missing or not required:
                choices += ["unbound", "none"]
            how = draw(st.sampled_from(choices))
            if how == "parent":
                keys = PARENT_KEYS if (kn.allow_missing or not required) else ["x", "y", "z"]
                o.inputs[p] = ("parent", draw(st.sampled_from(keys)))
            elif how == "lit":
                o.inputs[p] = ("lit", draw(st.integers(-50, 50)))
            elif how == "ref":
                j, var = draw(st.sampled_from(refs))
                o.inputs[p] = ("ref", j, var)
            elif how == "none":
                o.inputs[p] = ("lit", None)


def _draw_statements(draw, edges: list[tuple[int, int, bool]]) -> list[tuple]:
    """How each edge is written: runs of edges sharing a source (hard) or a target are grouped into
    list syntax sometimes; soft edges use `a >> ~b` or `a > b`."""
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
    return statements
