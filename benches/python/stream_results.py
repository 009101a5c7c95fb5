"""What the streaming driver measured and how it reads: one ``Engine`` per
interpreter with its samples, the targets ours must meet, and the table and
notes ``run_stream.py`` prints.
"""

from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass, field
from typing import Any

import benchlib
from benchlib import EngineBase

# Targets from the issue, for ours.
W4_MAX_OVER_GATHER_MS = 2.0
W5_MAX_US_PER_ITEM = 0.7
W5_MAX_FIRST_US = 100.0
M_MAX_GROWTH_MIB = 50.0


@dataclass
class Engine(EngineBase):  # role: "ours", "peer" or "langgraph"
    # workload -> key ("samples_ns", "first_ns", "gather_ns") -> all samples of all rounds
    samples: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    round_medians: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    memory: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # M / MR -> per round
    errors: dict[str, str] = field(default_factory=dict)  # workload -> last error
    items: dict[str, int] = field(default_factory=dict)


def absorb(engine: Engine, doc: dict[str, Any] | None) -> None:
    if doc is None:
        return
    engine.impl.update(doc["impl"])
    for name, r in doc["results"].items():
        if "error" in r:
            engine.errors[name] = r["error"]
            if engine.role != "ours":
                sys.stderr.write(r.get("traceback", ""))
                raise SystemExit(f"{name} failed under {engine.label}: {r['error']}")
            continue
        if name in ("M", "MR"):
            engine.memory.setdefault(name, []).append(r)
            continue
        engine.items[name] = r.get("items", 0)
        for key in ("samples_ns", "first_ns", "gather_ns"):
            if key in r:
                engine.samples.setdefault(name, {}).setdefault(key, []).extend(r[key])
                engine.round_medians.setdefault(name, {}).setdefault(key, []).append(
                    statistics.median(r[key])
                )


def median_of(engine: Engine, workload: str, key: str) -> float | None:
    s = engine.samples.get(workload, {}).get(key)
    return statistics.median(s) if s else None


def w4_ms(engine: Engine, key: str = "samples_ns") -> float | None:
    v = median_of(engine, "W4", key)
    return None if v is None else v / 1e6


def w5_us_item(engine: Engine, workload: str = "W5") -> float | None:
    v = median_of(engine, workload, "samples_ns")
    return None if v is None else v / 1e3 / engine.items[workload]


def w5_first_us(engine: Engine, workload: str = "W5") -> float | None:
    v = median_of(engine, workload, "first_ns")
    return None if v is None else v / 1e3


def mem_growth_mib(engine: Engine, workload: str) -> tuple[float, float] | None:
    """(median, worst) of peak RSS - RSS before, over rounds, in MiB."""
    runs = engine.memory.get(workload)
    if not runs:
        return None
    g = [(r["rss_peak_kib"] - r["rss_before_kib"]) / 1024 for r in runs]
    return statistics.median(g), max(g)


def fmt(v: float | None) -> str:
    return benchlib.fmt(v, grouped_from=10000)


def cell(engine: Engine, value: float | None, workload: str) -> str:
    if not engine.available:
        return "pending" if engine.role == "ours" else "n/a"
    if value is None:
        if engine.role == "ours" and workload in engine.errors:
            return "pending"
        return "n/a"
    return fmt(value)


def ratio(peer_v: float | None, ours_v: float | None) -> str:
    return f"{peer_v / ours_v:.1f}x" if (peer_v and ours_v) else "n/a"


def build_table(ours: Engine, peer: Engine, lg: Engine) -> tuple[list[str], list[list[str]], list[str]]:
    head = ["workload", "unit", "ours", peer.label, lg.label, "asyncio.gather", "target (ours)", "met"]
    rows: list[list[str]] = []
    misses: list[str] = []

    def verdict(ok: bool | None, what: str) -> str:
        if ok is None:
            return "-"
        if not ok:
            misses.append(what)
        return "yes" if ok else "NO"

    # W4
    o, p = w4_ms(ours), w4_ms(peer)
    g = w4_ms(ours, "gather_ns")
    gather_from = "ours"
    if g is None:  # ours not measurable: show the peer process's gather instead
        g, gather_from = w4_ms(peer, "gather_ns"), "peer"
    over = (o - g) if (o is not None and g is not None and gather_from == "ours") else None
    rows.append([
        "W4 1 -> 200 async sleeps (50 ms) -> 1", "ms/run", cell(ours, o, "W4"), cell(peer, p, "W4"),
        "-", fmt(g) + ("" if gather_from == "ours" else " (in 0.7.1's process)"),
        f"<= gather + {W4_MAX_OVER_GATHER_MS:g}",
        verdict(None if over is None else over <= W4_MAX_OVER_GATHER_MS,
                f"W4: ours - gather = {over and round(over, 2)} ms > {W4_MAX_OVER_GATHER_MS:g}"),
    ])
    rows.append([
        "W4 overhead over gather", "ms/run", fmt(over) if over is not None else cell(ours, None, "W4"),
        fmt(p - g) if (p is not None and g is not None) else "n/a", "-", "0", "<= 2", "",
    ])
    # W5
    o, p, lv = w5_us_item(ours), w5_us_item(peer), w5_us_item(lg)
    rows.append([
        "W5 stream 100 000 items", "us/item", cell(ours, o, "W5"), cell(peer, p, "W5"),
        cell(lg, lv, "W5"), "-", f"<= {W5_MAX_US_PER_ITEM:g}",
        verdict(None if o is None else o <= W5_MAX_US_PER_ITEM,
                f"W5: {o and round(o, 3)} us/item > {W5_MAX_US_PER_ITEM:g}"),
    ])
    o, p, lv = w5_first_us(ours), w5_first_us(peer), w5_first_us(lg)
    rows.append([
        "W5 time to first item", "us", cell(ours, o, "W5"), cell(peer, p, "W5"), cell(lg, lv, "W5"),
        "-", f"< {W5_MAX_FIRST_US:g}",
        verdict(None if o is None else o < W5_MAX_FIRST_US,
                f"W5: first item after {o and round(o, 1)} us >= {W5_MAX_FIRST_US:g}"),
    ])
    # Memory
    m = mem_growth_mib(ours, "M")
    rows.append([
        "M 1 000 000 items, retain_frames=False: peak RSS growth", "MiB",
        cell(ours, m and m[0], "M") + (f" (worst {fmt(m[1])})" if m else ""), "-", "-", "-",
        f"< {M_MAX_GROWTH_MIB:g}",
        verdict(None if m is None else m[1] < M_MAX_GROWTH_MIB,
                f"M: RSS growth up to {m and round(m[1], 1)} MiB >= {M_MAX_GROWTH_MIB:g}"),
    ])
    mr = mem_growth_mib(ours, "MR")
    if mr is not None or "MR" in ours.errors or not ours.available:
        rows.append([
            "MR same, default retain_frames (for contrast)", "MiB", cell(ours, mr and mr[0], "MR"),
            "-", "-", "-", "", "",
        ])
    return head, rows, misses


def render_markdown(head: list[str], rows: list[list[str]]) -> str:
    def pretty(c: str) -> str:
        return c.replace("->", "→").replace("<=", "≤").replace("us", "µs")

    return benchlib.render_markdown(
        [c.replace("<=", "≤") for c in head],
        [[pretty(c) for c in r] for r in rows],
        ["---", "---", "---:", "---:", "---:", "---:", "---", "---"],
    )


def spread(engine: Engine, workload: str, key: str, div: float) -> str:
    meds = engine.round_medians.get(workload, {}).get(key)
    if not meds:
        return "n/a"
    return f"{fmt(min(meds) / div)}..{fmt(max(meds) / div)}"


def notes(ours: Engine, peer: Engine, lg: Engine, rounds: int) -> list[str]:
    out: list[str] = []
    ratios = [
        f"W4 ms/run: {peer.label} / ours {ratio(w4_ms(peer), w4_ms(ours))}",
        f"W5 us/item: {peer.label} / ours {ratio(w5_us_item(peer), w5_us_item(ours))}, "
        f"{lg.label} / ours {ratio(w5_us_item(lg), w5_us_item(ours))}",
        f"W5 first item: {peer.label} / ours {ratio(w5_first_us(peer), w5_first_us(ours))}, "
        f"{lg.label} / ours {ratio(w5_first_us(lg), w5_first_us(ours))}",
    ]
    out.append("ratios (slower / ours): " + "; ".join(ratios))
    for e in (ours, peer, lg):
        if not e.available:
            out.append(f"{e.label}: NOT MEASURED: {e.problem}")
            continue
        reps = ", ".join(f"{w} {len(s.get('samples_ns', []))}" for w, s in e.samples.items())
        out.append(f"{e.label}: {e.impl.get('file')}; repetitions: {reps or 'none'}")
        if "W4" in e.samples:
            out.append(f"  W4 per-round medians {spread(e, 'W4', 'samples_ns', 1e6)} ms/run, "
                       f"gather {spread(e, 'W4', 'gather_ns', 1e6)} ms/run")
        for w in ("W5", "W5a"):
            if w in e.samples:
                n = e.items[w]
                out.append(f"  {w} per-round medians {spread(e, w, 'samples_ns', 1e3 * n)} us/item, "
                           f"first item {spread(e, w, 'first_ns', 1e3)} us")
        if "W5a" in e.samples:
            out.append(f"  W5a (async def node, not compared): {fmt(w5_us_item(e, 'W5a'))} us/item, "
                       f"first item {fmt(w5_first_us(e, 'W5a'))} us")
        if "W4" in e.samples:
            pairs = zip(e.samples["W4"]["samples_ns"], e.samples["W4"]["gather_ns"])
            diff = statistics.median(a - b for a, b in pairs) / 1e6
            out.append(f"  W4 median of paired differences (run - gather in the same pair): {diff:.3f} ms")
        for w in ("M", "MR"):
            runs = e.memory.get(w, [])
            if not runs:
                continue

            def mib_range(key: str) -> str:
                vals = [r[key] / 1024 for r in runs]
                return f"{min(vals):.1f}" if max(vals) - min(vals) < 0.05 else f"{min(vals):.1f}..{max(vals):.1f}"

            us = statistics.median(r["elapsed_ns"] / 1e3 / r["items"] for r in runs)
            out.append(
                f"  {w} ({len(runs)} processes): RSS before {mib_range('rss_before_kib')} MiB, peak "
                f"{mib_range('rss_peak_kib')}, end {mib_range('rss_end_kib')}, after releasing the handle "
                f"{mib_range('rss_after_release_kib')}; {us:.3f} us/item ({runs[0]['peak_method']})"
            )
        for w, err in e.errors.items():
            out.append(f"  {w}: pending: {err.splitlines()[0][:300] if err else ''}")
    return out
