"""A reference interpreter for flat operonx graphs, used as the oracle of tests/test_property.py.

It runs a *plain description* of a graph (no operonx objects) by the rules of the spec ("Running"):

- Ready queue, first in first out. Entry ops (wired from START) are queued first, in wiring order.
- When an op settles, its out-edges are visited in declaration order. A successor becomes ready when
  every hard predecessor has settled and, if it has soft predecessors, its soft group has fired (the
  first soft predecessor that finishes fires it; later ones are ignored). It is then queued behind the
  ops already queued.
- errors="continue": an op that fails (raises, or lacks a required input) or is skipped "settles
  dead". A hard successor of a dead op is doomed; a soft group whose every member settled dead is
  doomed. A doomed op is skipped (settles dead) once all its predecessors have settled. Skips never make
  anything ready, so when they are propagated does not matter.
- errors="raise": the first failure ends the run with that error.
- Inputs are resolved when the op starts: PARENT[k] from the run inputs, another op's output var from
  what that op has produced so far, or a literal. A value that is absent or None takes the function's
  default; no default -> the op fails with InputError (before its body runs).
- Every op wired to END emits one frame with all its outputs; the result groups frames by key in frame
  order (one value -> scalar, several -> list).

Functions (the same ones the test builds as @op functions), by name:

    fv(a=0, b=0, c=0, k=1)  -> {"v": a + b + c + k}
    fw(a, b=10, k=2)        -> {"w": 2 * a + b + k}
    fvw(b, a=5, k=3)        -> {"v": a + b + k, "w": a - b + k}

Every op also takes the literals tag (its own name, recorded in the execution order) and fail (raise
after recording when true).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

REQUIRED = object()  # marks a parameter without a default

# name -> (parameters in signature order with their defaults, output keys)
FUNCS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "fv": ({"a": 0, "b": 0, "c": 0, "k": 1}, ("v",)),
    "fw": ({"a": REQUIRED, "b": 10, "k": 2}, ("w",)),
    "fvw": ({"b": REQUIRED, "a": 5, "k": 3}, ("v", "w")),
}


def compute(func: str, args: dict[str, Any]) -> dict[str, Any]:
    """What function `func` returns for fully resolved arguments."""
    if func == "fv":
        return {"v": args["a"] + args["b"] + args["c"] + args["k"]}
    if func == "fw":
        return {"w": 2 * args["a"] + args["b"] + args["k"]}
    if func == "fvw":
        return {"v": args["a"] + args["b"] + args["k"], "w": args["a"] - args["b"] + args["k"]}
    raise AssertionError(func)


@dataclass
class OpSpec:
    name: str
    func: str  # a key of FUNCS
    kind: str = "sync"  # "sync" | "async" | "cpu"
    # parameter -> ("parent", key) | ("ref", op index, var) | ("lit", value); unbound -> absent
    inputs: dict[str, tuple] = field(default_factory=dict)
    fail: bool = False
    to_end: bool = False
    delay: float = 0.0  # async ops only: seconds slept before returning


@dataclass
class GraphSpec:
    ops: list[OpSpec]
    entries: list[int]  # ops wired from START, in wiring order
    edges: list[tuple[int, int, bool]]  # (src, dst, soft), in declaration order
    name: str = "g"
    concurrency: int | None = None  # GraphOp(concurrency=...): caps in-flight ops, changes no result


@dataclass
class Outcome:
    order: list[str]  # op names in the order their bodies started (InputError ops never start)
    outputs: dict[str, dict[str, Any]]  # op name -> outputs, for ops that finished
    frames: list[dict[str, Any]]  # one per op wired to END, in finishing order
    failures: list[tuple[str, str, str | None]]  # (kind "op" | "input", op name, missing input or None)
    error: tuple[str, str, str | None] | None = None  # errors="raise": the failure that ended the run
    missing: dict[str, set[str]] = field(default_factory=dict)  # op name -> its inputs with no value

    def result(self) -> dict[str, Any]:
        """Frames grouped by key in frame order: one value -> scalar, several -> list."""
        grouped: dict[str, list] = {}
        for frame in self.frames:
            for k, v in frame.items():
                grouped.setdefault(k, []).append(v)
        return {k: vs[0] if len(vs) == 1 else vs for k, vs in grouped.items()}


def _arguments(
    o: OpSpec, inputs: dict[str, Any], produced: dict[int, dict[str, Any]]
) -> tuple[dict[str, Any], list[str]]:
    """The arguments of op ``o`` when it starts, and its parameters left without a value (no default)."""
    params, _ = FUNCS[o.func]
    args: dict[str, Any] = {}
    missing = []
    for p, default in params.items():
        value = None
        src = o.inputs.get(p)
        if src is not None:
            if src[0] == "parent":
                value = inputs.get(src[1])
            elif src[0] == "ref":
                value = produced.get(src[1], {}).get(src[2])
            elif src[0] == "lit":
                value = src[1]
            else:
                raise AssertionError(src)
        if value is None:
            value = default
        if value is REQUIRED:
            missing.append(p)
        args[p] = value
    return args, missing


def run(spec: GraphSpec, inputs: dict[str, Any], errors: str = "raise") -> Outcome:
    n = len(spec.ops)
    out_edges: list[list[tuple[int, bool]]] = [[] for _ in range(n)]
    hard_total = [0] * n
    soft_total = [0] * n
    for src, dst, soft in spec.edges:
        out_edges[src].append((dst, soft))
        if soft:
            soft_total[dst] += 1
        else:
            hard_total[dst] += 1

    hard_settled = [0] * n
    soft_dead = [0] * n
    soft_resolved = [False] * n  # the soft group fired or is dead
    doomed = [False] * n
    produced: dict[int, dict[str, Any]] = {}
    out = Outcome(order=[], outputs={}, frames=[], failures=[])
    queue = deque(spec.entries)

    def waiting_on_nothing(v: int) -> bool:
        return hard_settled[v] == hard_total[v] and (soft_total[v] == 0 or soft_resolved[v])

    def settle(u: int, ok: bool) -> None:
        """u finished (ok) or failed / was skipped (not ok): visit its out-edges in declaration order."""
        for v, soft in out_edges[u]:
            if soft:
                if soft_resolved[v]:
                    continue
                if ok:
                    soft_resolved[v] = True
                else:
                    soft_dead[v] += 1
                    if soft_dead[v] < soft_total[v]:
                        continue
                    soft_resolved[v] = True
                    doomed[v] = True
            else:
                hard_settled[v] += 1
                if not ok:
                    doomed[v] = True
            if waiting_on_nothing(v):
                if doomed[v]:
                    settle(v, False)
                else:
                    queue.append(v)

    while queue:
        i = queue.popleft()
        o = spec.ops[i]
        args, missing = _arguments(o, inputs, produced)
        if missing:
            out.missing[o.name] = set(missing)
            failure = ("input", o.name, missing[0])
        else:
            out.order.append(o.name)
            failure = ("op", o.name, None) if o.fail else None
        if failure is not None:
            out.failures.append(failure)
            if errors == "raise":
                out.error = failure
                return out
            settle(i, False)
            continue
        result = compute(o.func, args)
        produced[i] = result
        out.outputs[o.name] = result
        if o.to_end:
            out.frames.append(dict(result))
        settle(i, True)
    return out


def upstream(n: int, edges: list[tuple[int, int, bool]]) -> list[set[int]]:
    """For each of ``n`` nodes, the nodes a path of edges (hard or soft) leads from: the only ones it may
    read. Edges ``(from, to, soft)`` go from a lower to a higher index."""
    preds: list[list[int]] = [[] for _ in range(n)]
    for u, v, _ in edges:
        preds[v].append(u)
    up: list[set[int]] = []
    for v in range(n):
        s: set[int] = set()
        for u in preds[v]:
            s |= {u} | up[u]
        up.append(s)
    return up


def unreached(n: int, entries: list[int], edges: list[tuple[int, int, bool]]) -> list[int]:
    """The nodes no path of edges (hard or soft) from an entry reaches, in index order: a graph with any
    is refused when the engine is built. Edges ``(from, to, soft)`` go from a lower to a higher index."""
    reached = [False] * n
    for e in entries:
        reached[e] = True
    for u, v, _ in sorted(edges, key=lambda e: e[1]):  # every edge into u before any edge out of it
        reached[v] = reached[v] or reached[u]
    return [v for v in range(n) if not reached[v]]


def guaranteed(spec: GraphSpec) -> list[set[int]]:
    """For each op, the ops that have certainly finished (successfully) whenever it starts, whatever
    order concurrent ops finish in: its hard predecessors and theirs, plus what every soft predecessor
    guarantees (the group fires on one of them)."""
    return finished_before(len(spec.ops), spec.edges)


def finished_before(n: int, edges: list[tuple[int, int, bool]]) -> list[set[int]]:
    """For each of ``n`` nodes, the nodes that have certainly finished whenever it starts: its hard
    predecessors and theirs, plus what all its soft predecessors guarantee. Edges ``(from, to, soft)`` go
    from a lower to a higher index."""
    hard: list[list[int]] = [[] for _ in range(n)]
    soft: list[list[int]] = [[] for _ in range(n)]
    for src, dst, s in edges:
        (soft if s else hard)[dst].append(src)
    sure: list[set[int]] = []
    for v in range(n):  # edges go from lower to higher index
        g: set[int] = set()
        for h in hard[v]:
            g |= {h} | sure[h]
        if soft[v]:
            g |= set.intersection(*({s} | sure[s] for s in soft[v]))
        sure.append(g)
    return sure
