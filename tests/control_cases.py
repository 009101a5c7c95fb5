"""The hypothesis strategy of tests/test_property_control.py: graph trees (tests/reference_control.py's
Graph and Node) with routers, soft joins, nested graphs and loops, their run inputs and error mode."""

from __future__ import annotations

import itertools

from hypothesis import strategies as st

from control_graphs import to_source, walk
from reference import FUNCS, REQUIRED, unreached, upstream
from reference_control import Graph, Node, candidates, guaranteed, node_outputs

ROOT_KEYS = ["k", "x", "nul", "missing"]  # run inputs: k drawn, x = 3, nul = None, missing absent
ROOT_SAFE = ["k", "x"]  # keys that always have a value
CMPS = ["==", "!=", "<", "<=", ">", ">="]


class Knobs:
    """Per-example settings and counters shared by every graph of the tree."""

    def __init__(self, draw, all_sync):
        self.all_sync = all_sync
        self.async_share = 0.0 if all_sync else draw(st.sampled_from([0.3, 0.6, 1.0]))
        self.fail_share = draw(st.sampled_from([0.0, 0.0, 0.05, 0.12]))
        self.allow_missing = draw(st.integers(0, 4)) == 0
        self.routers = draw(st.integers(1, 3))
        self.depth = draw(st.sampled_from([0, 1, 1, 2, 2, 3]))  # nesting depth reached at least
        self.graphs = draw(st.integers(0, 2))  # nested graphs besides those
        self.loop_share = draw(st.sampled_from([0.0, 0.5, 0.5, 1.0]))  # nested graphs that loop
        self.names = itertools.count()


def _chance(draw, p):
    """True with probability p; shrinks to False (hypothesis favours small integers)."""
    return p > 0 and draw(st.integers(0, 999)) >= 1000 - p * 1000


def _pick_preds(draw, v, max_size, min_size=0):
    near = st.integers(max(0, v - 5), v - 1)
    pred = st.one_of(near, near, st.integers(0, v - 1))
    return set(draw(st.lists(pred, min_size=min_size, max_size=max_size)))


def _scope(draw, kn: Knobs, name: str, depth: int, keys: list[str], safe: list[str]) -> Graph:
    """One graph of the tree: its nodes (nested graphs drawn recursively), entries and edges."""
    n = draw(st.integers(3, 16) if depth == 0 else st.integers(1, 7 - 2 * depth))
    nodes = _draw_nodes(draw, kn, n, depth)
    _draw_candidates(draw, nodes)
    graph = _draw_wiring(draw, name, nodes)
    reader = _Reader(draw, kn, graph, keys, safe)
    forwarded: set[str] = set()
    for i, node in enumerate(nodes):
        if node.kind == "router":
            node.cases = [(reader.condition(i), t) for _, t in node.cases]
            which = draw(st.sampled_from([(), (), ("target",), ("target", "matched")]))
            node.out_map = {k: f"{k[0]}_{node.name}" for k in which}
            continue
        if node.kind == "graph":
            _draw_nested(draw, kn, reader, i, node, depth)
        else:
            _draw_op(draw, kn, reader, i, node)
        _draw_forwarding(draw, node, depth, forwarded)
    if not any(nd.to_end or nd.out_map for nd in nodes):
        nodes[-1].to_end = True  # the last node is never a router
    return graph


def _draw_nodes(draw, kn: Knobs, n: int, depth: int) -> list[Node]:
    """The nodes' kinds and names."""
    # kinds; routers need two later nodes for candidates, the root holds at least one router
    kinds = ["op"] * n
    if depth == 0:
        kinds[draw(st.integers(0, n - 3))] = "router"
        kn.routers -= 1
    if depth < kn.depth:  # one nested graph on the way down to the drawn depth
        spots = [i for i in range(n) if kinds[i] == "op"]
        kinds[draw(st.sampled_from(spots))] = "graph"
    for i in range(n):
        if kinds[i] != "op":
            continue
        if kn.routers > 0 and i <= n - 3 and _chance(draw, 0.12 if depth == 0 else 0.5):
            kinds[i] = "router"
            kn.routers -= 1
        elif kn.graphs > 0 and depth < 3 and _chance(draw, 0.2):
            kinds[i] = "graph"
            kn.graphs -= 1
    nodes = []
    for kind in kinds:
        prefix = {"op": "n", "router": "r", "graph": "s"}[kind]
        nodes.append(Node(name=f"{prefix}{next(kn.names)}", kind=kind))
    return nodes


def _draw_candidates(draw, nodes: list[Node]) -> None:
    """Router candidates: distinct later nodes, mostly close by."""
    n = len(nodes)
    for i, node in enumerate(nodes):
        if node.kind != "router":
            continue
        later = list(range(i + 1, n))
        m = min(draw(st.integers(2, 4)), len(later))
        has_default = draw(st.booleans()) and len(later) > m
        pool = later[:6] if len(later[:6]) >= m + has_default else later
        # mostly nodes that are no other router's candidates (a node two routers must both choose
        # rarely runs)
        claimed = {t for other in nodes[:i] if other.kind == "router" for t in candidates(other)}
        free = [t for t in pool if t not in claimed]
        if len(free) >= m + has_default and draw(st.integers(0, 3)):
            pool = free
        picked = draw(st.permutations(pool))[: m + has_default]
        node.cases = [(None, t) for t in picked[:m]]
        node.default = picked[m] if has_default else None
        node.style = draw(st.sampled_from(["chain", "chain", "branchop"]))


def _draw_wiring(draw, name: str, nodes: list[Node]) -> Graph:
    """Entries and edges (from a lower to a higher index), the graph, and how its edges are written."""
    n = len(nodes)
    cand_of: dict[int, list[int]] = {}
    for i, node in enumerate(nodes):
        if node.kind == "router":
            for t in candidates(node):
                cand_of.setdefault(t, []).append(i)

    # entries and edges
    entry_share = draw(st.sampled_from([0.05, 0.15, 0.3]))
    entries = [0] + [i for i in range(1, n) if i not in cand_of and _chance(draw, entry_share)]
    edges: list[tuple[int, int, bool]] = []
    for v in range(1, n):
        if v in entries:
            continue
        forced = set(cand_of.get(v, []))
        extra = 1 if forced else 3
        hp = _pick_preds(draw, v, extra - 1 if forced else 2)
        # an edge from a candidate (often skipped) is mostly soft, else most nodes would be skipped
        hp -= {u for u in hp if u in cand_of and draw(st.integers(0, 2))}
        hp |= forced
        sp = _pick_preds(draw, v, extra, min_size=0 if hp else 1) - hp - forced
        joinable = [r for r in range(v) if nodes[r].kind == "router" and r not in forced
                    and max(candidates(nodes[r])) < v]
        if joinable and _chance(draw, 0.35):  # a join after a branch
            r = draw(st.sampled_from(joinable))
            if draw(st.booleans()):
                sp |= set(candidates(nodes[r])) - hp
            else:
                hp |= set(candidates(nodes[r]))
                sp -= hp
        if not hp and not sp:
            hp = {v - 1}
        edges += [(u, v, False) for u in sorted(hp)] + [(u, v, True) for u in sorted(sp)]
    edges = draw(st.permutations(edges)) if edges else []
    if draw(st.booleans()):
        edges.sort(key=lambda e: e[0])
    assert not unreached(n, entries, edges)  # every node is an entry or has a predecessor
    graph = Graph(name=name, nodes=nodes, entries=list(draw(st.permutations(entries))), edges=list(edges))
    graph.syntax = {e: draw(st.sampled_from(["edge", "alt"])) for e in edges if e[2]}
    graph.syntax["fan_out"] = draw(st.booleans())
    return graph


class _Reader:
    """The sources node i of one graph reads, drawn: refs to nodes that finished for sure (in a sync graph,
    any node upstream), the graph's inputs, or literals."""

    def __init__(self, draw, kn: Knobs, graph: Graph, keys: list[str], safe: list[str]):
        self.draw, self.kn, self.nodes, self.keys, self.safe = draw, kn, graph.nodes, keys, safe
        self.sure = guaranteed(graph)
        self.up = upstream(len(graph.nodes), graph.edges)
        self.timing_free = kn.all_sync

    def readable(self, i, for_required):
        """(node, var) pairs node i may read: finished for sure, or in a sync graph any node upstream."""
        kn, nodes, sure = self.kn, self.nodes, self.sure
        js = set(sure[i])
        if self.timing_free and (kn.allow_missing or not for_required):
            js |= self.up[i]
        out = []
        for j in sorted(js):
            if nodes[j].kind == "router":
                continue
            if for_required and not kn.allow_missing and (nodes[j].kind != "op" or j not in sure[i]):
                continue
            # a router's target / matched (strings, also when a nested graph forwards them) are no
            # numbers for the ops' arithmetic
            out += [(j, var) for var in node_outputs(nodes[j]) if not var.startswith(("t_r", "m_r"))]
        return out

    def source(self, i, for_required, allow_lit=True):
        draw = self.draw
        refs = self.readable(i, for_required)
        usable_keys = self.keys if (self.kn.allow_missing or not for_required) else self.safe
        choices = ["parent"] if usable_keys else []
        choices += (["ref"] * 3 if refs else []) + (["lit"] if allow_lit else [])
        if not choices:
            return ("lit", draw(st.integers(-10, 10)))
        how = draw(st.sampled_from(choices))
        if how == "parent":
            return ("parent", draw(st.sampled_from(usable_keys)))
        if how == "ref":
            j, var = draw(st.sampled_from(refs))
            return ("ref", j, var)
        return ("lit", draw(st.integers(-10, 10)))

    def atom(self, i):
        draw, keys = self.draw, self.keys
        if "k" in keys and draw(st.integers(0, 2)) > 0:
            src = ("parent", "k")
        else:
            src = self.source(i, for_required=False, allow_lit=False)
            if src[0] == "lit":
                src = ("parent", draw(st.sampled_from(keys))) if keys else ("parent", "k")
        if src[0] == "parent" and src[1] in ("k", "x"):
            const = draw(st.integers(0, 9))
        else:
            const = draw(st.sampled_from([-5, 0, 3, 8, 12, 20, 30]))
        return ("cmp", src, draw(st.sampled_from(CMPS)), const)

    def condition(self, i, depth=0):
        shape = self.draw(st.sampled_from(["atom", "atom", "atom", "and", "or"] if depth < 2 else ["atom"]))
        if shape == "atom":
            return self.atom(i)
        return (shape, self.condition(i, depth + 1), self.condition(i, depth + 1))


def _draw_nested(draw, kn: Knobs, reader: _Reader, i: int, node: Node, depth: int) -> None:
    """A nested graph's inputs and its graph (drawn recursively), often a loop."""
    keys, safe, nodes, sure = reader.keys, reader.safe, reader.nodes, reader.sure
    from_k = "k" in keys and draw(st.integers(0, 3)) > 0
    node.inputs = {"k": ("parent", "k") if from_k else reader.source(i, False)}
    if draw(st.booleans()):
        node.inputs["q"] = reader.source(i, False)
    inner_safe = [
        key for key, src in node.inputs.items()
        if (src[0] == "parent" and src[1] in safe) or (src[0] == "lit" and src[1] is not None)
        or (src[0] == "ref" and nodes[src[1]].kind == "op" and src[1] in sure[i])
    ]
    node.sub = _scope(draw, kn, node.name, depth + 1, list(node.inputs), inner_safe)
    if _chance(draw, kn.loop_share):
        _make_loop(draw, node, inner_safe)


def _draw_op(draw, kn: Knobs, reader: _Reader, i: int, node: Node) -> None:
    """A code op: its function, sync or async, whether it fails, and its inputs."""
    node.func = draw(st.sampled_from(sorted(FUNCS)))
    node.mode = "async" if _chance(draw, kn.async_share) else "sync"
    node.fail = _chance(draw, kn.fail_share)
    if node.mode == "async":
        node.delay = draw(st.sampled_from([0.0, 0.0, 0.001, 0.003]))
    for p, default in FUNCS[node.func][0].items():
        if p == "k":
            node.inputs[p] = ("lit", draw(st.integers(-5, 20)))
            continue
        required = default is REQUIRED
        hows = ["bound"] * (3 if required else 2)
        if kn.allow_missing or not required:
            hows += ["unbound", "none"]
        how = draw(st.sampled_from(hows))
        if how != "bound" and required and draw(st.booleans()):
            how = "bound"
        if how == "bound":
            node.inputs[p] = reader.source(i, required)
        elif how == "none":
            node.inputs[p] = ("lit", None)


def _draw_forwarding(draw, node: Node, depth: int, forwarded: set[str]) -> None:
    """Whether an op or nested graph forwards its outputs (`>> END`), maps some to PARENT, or neither."""
    outs = node_outputs(node)
    how = draw(st.sampled_from(["end", "end", "map", "none", "none"]))
    if how == "end" and depth > 0 and forwarded & set(outs) and draw(st.integers(0, 2)):
        how = "map"  # inside a nested graph, mostly keep forwarded keys apart
    if how == "end":
        node.to_end = True
        forwarded |= set(outs)
    elif how == "map" and outs:
        keys_ = [k for k in outs if draw(st.booleans())] or [outs[0]]
        node.out_map = {k: f"{k}_{node.name}" for k in keys_}


def _make_loop(draw, node: Node, safe: list[str]) -> None:
    """Makes a nested graph a loop: an inner op feeds the variable k back (mostly), and until compares
    loop variables (only == / != for one that may be None, which < would raise on)."""
    ops = [nd for nd in node.sub.nodes if nd.kind == "op"]
    if ops and draw(st.integers(0, 3)):
        feeder = draw(st.sampled_from(ops))
        feeder.out_map[FUNCS[feeder.func][1][0]] = "k"

    def atom():
        key = draw(st.sampled_from(sorted(node.inputs)))
        syms = CMPS if key in safe else ["==", "!="]
        return ("cmp", ("parent", key), draw(st.sampled_from(syms)), draw(st.integers(-5, 40)))

    def cond(level=0):
        shape = draw(st.sampled_from(["atom", "atom", "and", "or"] if level < 1 else ["atom"]))
        return atom() if shape == "atom" else (shape, cond(level + 1), cond(level + 1))

    until = None if draw(st.integers(0, 4)) == 0 else cond()
    node.loop = (until, draw(st.integers(1, 4)))


def _make_root_loop(draw, graph: Graph) -> None:
    """Makes the root graph a loop over the run inputs: an op mostly feeds k back, and until compares
    them (k and x hold ints; the others only with == / !=)."""
    ops = [nd for nd in graph.nodes if nd.kind == "op"]
    if ops and draw(st.integers(0, 3)):
        feeder = draw(st.sampled_from(ops))
        feeder.out_map[FUNCS[feeder.func][1][0]] = "k"

    def atom():
        # not "missing": a name that is no run input and no output is an error of the loop, tested apart
        key = draw(st.sampled_from([k for k in ROOT_KEYS if k != "missing"]))
        syms = CMPS if key in ROOT_SAFE else ["==", "!="]
        return ("cmp", ("parent", key), draw(st.sampled_from(syms)), draw(st.integers(-5, 40)))

    until = None if draw(st.integers(0, 4)) == 0 else (
        atom() if draw(st.booleans()) else (draw(st.sampled_from(["and", "or"])), atom(), atom()))
    graph.loop = (until, draw(st.integers(1, 4)))


@st.composite
def examples(draw, all_sync):
    kn = Knobs(draw, all_sync)
    graph = _scope(draw, kn, "g", 0, ROOT_KEYS, ROOT_SAFE)
    if _chance(draw, 0.25):
        _make_root_loop(draw, graph)
    ops = [node for _, node, _ in walk(graph, "g") if node.kind == "op"]
    if not all_sync and all(node.mode == "sync" for node in ops):
        # refs were drawn for a graph with timing: any op may be async
        node = ops[draw(st.integers(0, len(ops) - 1))]
        node.mode, node.delay = "async", draw(st.sampled_from([0.0, 0.002]))
    inputs = {"k": draw(st.integers(0, 9)), "x": 3, "nul": None}
    if kn.fail_share or kn.allow_missing:
        errors = draw(st.sampled_from(["continue", "continue", "continue", "raise"]))
    else:
        errors = draw(st.sampled_from(["continue", "raise"]))
    return Case(graph, inputs, errors)


class Case:
    """One example; hypothesis shows it as the operonx code that is run."""

    def __init__(self, graph: Graph, inputs: dict, errors: str):
        self.graph, self.inputs, self.errors = graph, inputs, errors

    def __repr__(self) -> str:
        return "\n" + to_source(self.graph, self.inputs, self.errors) + "\n"
