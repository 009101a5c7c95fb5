"""Nested graphs: a graph used as one node of another, written inline or made by a @graph factory.

Run it with `python examples/nested.py`.
"""

import asyncio

from operonx import END, PARENT, START, GraphOp, Operon, graph, op


@op
def split(text):
    return {"words": text.split()}


@op
def longest(words):
    return {"longest": max(words, key=len)}


@op
def shorten(word, keep):
    return {"short": word[:keep]}


# A factory: in the body each parameter reads the nested graph's input (PARENT[param]).
@graph
def abbreviate(word, keep):
    cut = shorten(word=word, keep=keep)
    START >> cut >> END


with GraphOp(name="outer") as g:
    # An inline nested graph: its ops read its `inputs` through PARENT ...
    with GraphOp(name="analyze", inputs={"text": PARENT["text"]}) as analyze:
        words = split(text=PARENT["text"])
        best = longest(words=words["words"])
        START >> words >> best >> END
    # ... and the outer graph reads its outputs as analyze["..."].
    abbrev = abbreviate(word=analyze["longest"], keep=4, name="abbrev")
    START >> analyze >> abbrev >> END
    analyze >> END  # the outer graph forwards both nested graphs' outputs


async def main() -> None:
    engine = Operon(g)
    # Each nested graph emits one frame, under its own name, with the outputs it forwards;
    # the ops inside it emit none of their own.
    async for name, ctx, data in engine.start({"text": "nested graphs compose nicely"}):
        print("frame:", name, data)

    result = await engine.run({"text": "nested graphs compose nicely"})
    print("longest:", result["longest"], "-> short:", result["short"])
    # "$state" holds every value any op produced, nested ones included, by full name.
    print("state:", result["$state"]["outer.analyze.words", "words"])


if __name__ == "__main__":
    asyncio.run(main())
