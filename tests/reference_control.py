"""A reference interpreter for graphs with branches and nested graphs: the oracle of
tests/test_property_control.py. It extends tests/reference.py (same functions, same FIFO rules) and runs a
*plain description* of a graph tree (no operonx objects) by the rules of the spec ("Running"; "Branches,
loops, nesting"):

- One ready queue, first in first out, for the whole tree. Root entries are queued first, in wiring order.
  When a node settles, its out-edges are visited in declaration order: a successor becomes ready when every
  hard predecessor has settled and its soft group (if any) has fired; it is queued behind what is queued.
- Skips: a failed op (errors="continue"), a skipped node and a branch candidate that was not chosen are
  dead. A hard successor of a dead node is doomed; a soft group whose every member is dead is doomed; a
  doomed node is skipped once all its predecessors have settled (nothing inside a skipped nested graph
  runs). A soft group fires on the first member that settles alive.
- Code op: inputs resolved when it starts (PARENT[k] from its graph's inputs, another node's output as
  produced so far, a literal; absent or None -> the default; no default -> InputError, body not run).
- Branch (router): evaluates its cases in order when it runs; the first that holds picks its target, else the
  default, else none. A condition reads its sources like an input does (an absent value reads as None) and
  is evaluated as Python would evaluate it (`&` is `and`, `|` is `or`); a condition that raises holds not
  (operonx 0.7.1 behaves so; spec: "a condition that raises counts as not matched"). Its outputs are
  target (the chosen node's name or None) and matched (the case's text, "default", or None). Edges
  router -> candidate are ordinary edges, but the candidates not chosen receive a skip along them.
- Nested graph: when it runs it resolves its inputs (an absent value is None) and queues its inner entries
  (wiring order): this is its start step. Its inner nodes share the run's queue. When every inner node
  reachable from its entries has settled, its end step is queued; the end step collects the inner nodes'
  forwarded outputs (a key forwarded twice: the value forwarded *later* wins), forwards them like an op
  would and settles the nested graph like a finished op.
- Forwarding: a node wired to END forwards every output; a node with mapped outputs forwards those, renamed.
  In the root graph that is a frame (kept even when empty); inside a nested graph it feeds the nested
  graph's outputs. A router forwards only through mappings.
- Loop (a nested graph with `loop = (until, max_iterations)`): it starts like a nested graph, its body in
  the context `loop_0` below the loop's own. When the body has settled, its end step collects the
  forwarded outputs as a nested graph's would, updates the loop variables (its inputs) with them and
  evaluates `until` over the variables (a condition whose sources are ("parent", variable); None: never
  holds). If it holds, or max_iterations iterations have run, the loop settles like a finished nested
  graph with the last iteration's outputs; else the next iteration starts (`loop_n+1`) with the updated
  variables. A loop of the root graph that forwards emits a frame per iteration, in the iteration's
  context; only the last iteration's counts in the run's result.
- A root graph that is a loop: its variables are the run inputs; each iteration runs every node in the
  context `loop_n`, its frames stream (only the last iteration's count in the result), and the outputs its
  nodes forward update the variables before `until` is evaluated, as for a nested loop.
- errors="raise": the first failure ends the run with that error.

The outcome also notes when an example touches a behaviour the engine is known to get wrong (`known`), so
that the property test can leave those examples to their dedicated xfail tests.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from reference import FUNCS, REQUIRED, compute, finished_before
from reference_conditions import ABSENT, condition_sources, condition_text, engine_holds, holds

# Sources (("parent", key), ("ref", j, var), ("lit", value)) and conditions: tests/reference_conditions.py.


@dataclass
class Node:
    name: str
    kind: str  # "op" | "router" | "graph"
    func: str | None = None  # op: a key of reference.FUNCS
    mode: str = "sync"  # op: "sync" | "async"
    inputs: dict[str, tuple] = field(default_factory=dict)  # op: param -> source; graph: input -> source
    fail: bool = False  # op: raises after recording itself
    delay: float = 0.0  # async op: seconds slept
    cases: list[tuple[tuple, int]] = field(default_factory=list)  # router: (condition, target node index)
    default: int | None = None  # router: default target node index
    style: str = "chain"  # router: "chain" (if_().if_()...) | "branchop" (BranchOp with its own inputs)
    to_end: bool = False  # op / graph: wired to END (forwards every output)
    out_map: dict[str, str] = field(default_factory=dict)  # output key -> graph output name (PARENT[...])
    sub: "Graph | None" = None  # graph: the nested graph
    loop: "tuple | None" = None  # graph: (until condition or None, max_iterations) for a loop


@dataclass
class Graph:
    name: str
    nodes: list[Node]
    entries: list[int]  # wired from START, in wiring order
    edges: list[tuple[int, int, bool]]  # (src, dst, soft) in declaration order
    syntax: dict = field(default_factory=dict)  # how the test writes edges; the interpreter ignores it
    loop: "tuple | None" = None  # the root graph only: (until condition or None, max_iterations)


def node_outputs(node: Node) -> tuple[str, ...]:
    """The output keys a node can have (a nested graph's: the keys its inner nodes forward)."""
    if node.kind == "op":
        return FUNCS[node.func][1]
    if node.kind == "router":
        return ("target", "matched")
    keys: dict[str, None] = {}
    for inner in node.sub.nodes:
        if inner.out_map:
            keys.update(dict.fromkeys(inner.out_map.values()))
        elif inner.to_end:
            keys.update(dict.fromkeys(node_outputs(inner)))
    return tuple(keys)


def candidates(node: Node) -> list[int]:
    out = [t for _, t in node.cases]
    if node.default is not None:
        out.append(node.default)
    return out


def own_inputs(node: Node) -> dict[tuple, str]:
    """A "branchop" router's own inputs: each distinct source its conditions read -> c0, c1, ..."""
    srcs = dict.fromkeys(x for c, _ in node.cases for x in condition_sources(c))
    return {src: f"c{n}" for n, src in enumerate(srcs)}


@dataclass
class Outcome:
    order: list[str]  # code op names (short; unique in the tree) in the order their bodies started
    outputs: dict[str, dict[str, Any]]  # full name -> outputs, for code ops that finished
    frames: list[tuple[str, dict[str, Any]]]  # (node name, data) emitted by the root graph's nodes
    failures: list[tuple[str, str, str | None]]  # ("op" | "input", full name, missing input or None)
    contexts: list[tuple[str, ...]] = field(default_factory=list)  # each frame's context
    superseded: list[bool] = field(default_factory=list)  # each frame: from a loop iteration not the last
    error: tuple[str, str, str | None] | None = None
    error_context: tuple[str, ...] = ("main",)
    missing: dict[str, set[str]] = field(default_factory=dict)  # full name -> inputs with no value
    chosen: dict[str, str | None] = field(default_factory=dict)  # full router name -> chosen target
    skipped: list[str] = field(default_factory=list)  # full names of nodes skipped, in skipping order
    known: set[str] = field(default_factory=set)  # known engine bugs this example touches
    racy: bool = False  # a nested graph or a loop iteration got one key from two nodes with different values

    def result(self) -> dict[str, Any]:
        grouped: dict[str, list] = {}
        for (_, frame), old in zip(self.frames, self.superseded):
            if old:
                continue
            for k, v in frame.items():
                grouped.setdefault(k, []).append(v)
        return {k: vs[0] if len(vs) == 1 else vs for k, vs in grouped.items()}


class _Scope:
    """One graph of the tree while it runs: the root, or a nested graph that has started."""

    def __init__(self, graph: Graph, values: dict, path: str, parent: "_Scope | None" = None, at: int = -1,
                 iteration: int | None = None):
        self.graph, self.values, self.path, self.parent, self.at = graph, values, path, parent, at
        self.iteration = iteration  # for a loop's body: which iteration
        ctx = parent.ctx if parent is not None else ("main",)
        self.ctx = ctx + (f"loop_{iteration}",) if iteration is not None else ctx
        n = len(graph.nodes)
        self.out: list[list[tuple[int, bool]]] = [[] for _ in range(n)]
        self.hard_total = [0] * n
        self.soft_total = [0] * n
        for u, v, soft in graph.edges:
            self.out[u].append((v, soft))
            if soft:
                self.soft_total[v] += 1
            else:
                self.hard_total[v] += 1
        self.hard_settled = [0] * n
        self.soft_dead = [0] * n
        self.soft_resolved = [False] * n
        self.doomed = [False] * n
        self.produced: dict[int, dict[str, Any]] = {}
        self.children: dict[int, _Scope] = {}
        seen, stack = set(graph.entries), list(graph.entries)
        while stack:
            u = stack.pop()
            for v, _ in self.out[u]:
                if v not in seen:
                    seen.add(v)
                    stack.append(v)
        self.reachable = len(seen)
        self.settled = 0
        self.forwarded: list[tuple[str, Any, int]] = []  # (key, value, node) in forwarding order

    def read(self, src: tuple) -> Any:
        """A source's value, ABSENT when it has none."""
        if src[0] == "parent":
            return self.values.get(src[1], ABSENT)
        if src[0] == "ref":
            return self.produced.get(src[1], {}).get(src[2], ABSENT)
        return src[1]


class _Run:
    """One run of a graph tree: the queue of steps ("run" a node, "end" a nested graph, "next" iteration of
    a root loop) shared by every graph, and the outcome it fills."""

    def __init__(self, graph: Graph, inputs: dict[str, Any], errors: str) -> None:
        self.errors = errors
        self.out = Outcome(order=[], outputs={}, frames=[], failures=[])
        root = _Scope(graph, dict(inputs), graph.name, iteration=0 if graph.loop is not None else None)
        self.queue: deque = deque(("run", root, i) for i in graph.entries)
        self.first_frame = {id(root): 0}  # a root loop's iteration -> the index of its first frame

    def forward(self, s: _Scope, i: int, data: dict, ctx: tuple | None = None, last: bool = True) -> None:
        out = self.out
        node = s.graph.nodes[i]
        if node.out_map:
            frame = {name: data[k] for k, name in node.out_map.items() if k in data}
        elif node.to_end and node.kind != "router":
            frame = dict(data)
        else:
            return
        if s.parent is None:
            out.frames.append((node.name, frame))
            out.contexts.append(ctx or s.ctx)
            out.superseded.append(not last)
            if s.graph.loop is not None:  # a root loop's outputs feed its next iteration
                s.forwarded.extend((k, v, i) for k, v in frame.items())
        elif last:
            s.forwarded.extend((k, v, i) for k, v in frame.items())

    def settle(self, s: _Scope, u: int, ok: bool, chosen: int | None = None) -> None:
        node = s.graph.nodes[u]
        not_taken = set(candidates(node)) - {chosen} if node.kind == "router" else set()
        for v, soft in s.out[u]:
            alive = ok and v not in not_taken
            if soft:
                if s.soft_resolved[v]:
                    continue
                if alive:
                    s.soft_resolved[v] = True
                else:
                    s.soft_dead[v] += 1
                    if s.soft_dead[v] < s.soft_total[v]:
                        continue
                    s.soft_resolved[v] = True
                    s.doomed[v] = True
            else:
                s.hard_settled[v] += 1
                if not alive:
                    s.doomed[v] = True
            if s.hard_settled[v] == s.hard_total[v] and (s.soft_total[v] == 0 or s.soft_resolved[v]):
                if s.doomed[v]:
                    self.out.skipped.append(f"{s.path}.{s.graph.nodes[v].name}")
                    self.settle(s, v, False)
                else:
                    self.queue.append(("run", s, v))
        s.settled += 1
        if s.parent is not None and s.settled == s.reachable:
            self.queue.append(("end", s.parent, s.at))
        elif s.parent is None and s.graph.loop is not None and s.settled == s.reachable:
            self.queue.append(("next", s, -1))

    def next_iteration(self, s: _Scope) -> None:
        """An iteration of a root loop has settled: the next one starts unless `until` holds or
        max_iterations iterations have run."""
        out = self.out
        until, max_iterations = s.graph.loop
        variables = dict(s.values)
        seen: dict[str, Any] = {}
        for k, v, _ in s.forwarded:
            if k in seen and seen[k] != v:
                out.racy = True
            seen[k] = v
            variables[k] = v  # the later one wins
        done = until is not None and holds(until, lambda src: variables.get(src[1]))
        if not done and s.iteration + 1 < max_iterations:
            for f in range(self.first_frame[id(s)], len(out.frames)):
                out.superseded[f] = True
            nxt = _Scope(s.graph, variables, s.path, iteration=s.iteration + 1)
            self.first_frame[id(nxt)] = len(out.frames)
            self.queue.extend(("run", nxt, e) for e in s.graph.entries)

    def end(self, s: _Scope, i: int, node: Node, full: str) -> None:
        """A nested graph's inner nodes have all settled: it settles, or a loop runs its next iteration."""
        child = s.children[i]
        result: dict[str, Any] = {}
        for k, v, _ in child.forwarded:
            if k in result and result[k] != v:
                self.out.racy = True
            result[k] = v  # the later one wins
        if node.loop is not None:
            until, max_iterations = node.loop
            variables = dict(child.values)
            variables.update(result)
            done = until is not None and holds(until, lambda src: variables.get(src[1]))
            n = child.iteration
            if not done and n + 1 < max_iterations:
                self.forward(s, i, result, child.ctx, last=False)
                nxt = _Scope(node.sub, variables, full, s, i, n + 1)
                s.children[i] = nxt
                self.queue.extend(("run", nxt, e) for e in node.sub.entries)
                return
            self.forward(s, i, result, child.ctx)
        else:
            self.forward(s, i, result)
        s.produced[i] = result
        self.settle(s, i, True)

    def start(self, s: _Scope, i: int, node: Node, full: str) -> None:
        """A nested graph's start step: it resolves its inputs and queues its inner entries."""
        values = {}
        for k, src in node.inputs.items():
            v = s.read(src)
            values[k] = None if v is ABSENT else v
        child = _Scope(node.sub, values, full, s, i, 0 if node.loop is not None else None)
        s.children[i] = child
        self.queue.extend(("run", child, e) for e in node.sub.entries)

    def route(self, s: _Scope, i: int, node: Node, full: str) -> None:
        """A router picks the target of the first case that holds (else its default, else none)."""
        out = self.out

        def read(src, s=s):
            v = s.read(src)
            return None if v is ABSENT else v

        # a "branchop" router's conditions read its own inputs (None when absent): other names
        names = own_inputs(node) if node.style == "branchop" else None
        chosen, matched = node.default, ("default" if node.default is not None else None)
        for cond, t in node.cases:
            if holds(cond, read):
                chosen, matched = t, condition_text(cond, names)
                break
        engine_chosen = node.default
        for cond, t in node.cases:
            if engine_holds(cond, s.read, absent_operand_none=node.style == "chain"):
                engine_chosen = t
                break
        if engine_chosen != chosen:
            out.known.add("condition")
        target = None if chosen is None else s.graph.nodes[chosen].name
        out.chosen[full] = target
        result = {"target": target, "matched": matched}
        s.produced[i] = result
        self.forward(s, i, result)
        self.settle(s, i, True, chosen)

    def call(self, s: _Scope, i: int, node: Node, full: str) -> bool:
        """A code op runs (or fails); False when its failure ends the run (errors="raise")."""
        out = self.out
        params, _ = FUNCS[node.func]
        args: dict[str, Any] = {}
        missing = []
        for p, default in params.items():
            src = node.inputs.get(p)
            value = None if src is None else s.read(src)
            if value is None or value is ABSENT:
                value = default
            if value is REQUIRED:
                missing.append(p)
            args[p] = value
        if missing:
            out.missing[full] = set(missing)
            failure = ("input", full, missing[0])
        else:
            out.order.append(node.name)
            failure = ("op", full, None) if node.fail else None
        if failure is not None:
            out.failures.append(failure)
            if self.errors == "raise":
                out.error = failure
                out.error_context = s.ctx
                return False
            self.settle(s, i, False)
            return True
        result = compute(node.func, args)
        s.produced[i] = result
        out.outputs[full] = result
        self.forward(s, i, result)
        self.settle(s, i, True)
        return True

    def run(self) -> Outcome:
        while self.queue:
            step, s, i = self.queue.popleft()
            if step == "next":
                self.next_iteration(s)
                continue
            node = s.graph.nodes[i]
            full = f"{s.path}.{node.name}"
            if step == "end":
                self.end(s, i, node, full)
            elif node.kind == "graph":
                self.start(s, i, node, full)
            elif node.kind == "router":
                self.route(s, i, node, full)
            elif not self.call(s, i, node, full):
                break
        return self.out


def run(graph: Graph, inputs: dict[str, Any], errors: str = "raise") -> Outcome:
    return _Run(graph, inputs, errors).run()


def guaranteed(graph: Graph) -> list[set[int]]:
    """For each node of one graph, the nodes of that graph that have certainly finished whenever it runs,
    whatever the timing: its hard predecessors and theirs, plus what all its soft predecessors guarantee.
    (A node runs only when its hard predecessors finished alive, so a chosen candidate's router did.)"""
    return finished_before(len(graph.nodes), graph.edges)
