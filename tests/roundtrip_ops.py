"""Ops and a graph for the export -> JSON file -> ``Operon.from_json`` round trip (tests/test_from_json.py).

The test imports this module in fresh interpreters, so it must stay importable on its own: the ops are
registered when it is imported, and ``build()`` makes the graph.
"""

from __future__ import annotations

import asyncio

from operonx import END, PARENT, START, GraphOp, if_, op


@op
def split(text, sep=" "):
    for word in text.split(sep):
        yield {"word": word}


@op
async def shout(word):
    await asyncio.sleep(0)
    return {"loud": word.upper()}


@op
def gather(words):
    return {"joined": "-".join(words), "n": len(words)}


@op
def bump(count, step=1):
    return {"count": count + step}


@op
def grade(n):
    return {"grade": "long" if n >= 3 else "short"}


@op
def say(grade, prefix):
    return {"said": f"{prefix}{grade}"}


def build() -> GraphOp:
    """A stream, an async op, a collected consumer, a nested loop, a branch, literals and a transform."""
    with GraphOp(name="trip") as g:
        s = split(text=PARENT["text"])
        up = shout(word=s["word"])
        j = gather(words=s["word"].collect())
        with GraphOp.loop(name="counter", until="count >= 3", max_iterations=10, count=PARENT["start"]) as loop:
            b = bump(count=PARENT["count"], step=1)
            START >> b >> END
        gr = grade(n=j["n"])
        pick = if_(gr["grade"] == "long", "long_say").else_("short_say")
        long_say = say(grade=gr["grade"], prefix="L:")
        short_say = say(grade=gr["grade"].upper(), prefix="S:")
        START >> s >> [up, j]
        up >> END
        j >> gr >> pick >> [long_say, short_say] >> END
        START >> loop >> END
        j >> END
    return g
