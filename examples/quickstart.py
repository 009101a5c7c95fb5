"""Quickstart: a small graph of sync and async ops, run on the Rust engine.

Run it with `make example`.
"""

import asyncio

from operonx import END, PARENT, START, GraphOp, Operon, op


@op
def clean(text):
    return {"text": text.strip().lower()}


@op
async def count_words(text):
    await asyncio.sleep(0)  # stands in for an API call
    return {"words": len(text.split())}


@op
def shout(text):
    return {"loud": text.upper()}


@op
def report(words, loud, prefix="result"):
    return {"report": f"{prefix}: {words} words, {loud!r}"}


with GraphOp(name="quickstart") as g:
    cleaned = clean(text=PARENT["text"])
    counted = count_words(text=cleaned["text"])
    loud = shout(text=cleaned["text"])
    summary = report(words=counted["words"], loud=loud["loud"])
    START >> cleaned >> [counted, loud] >> summary >> END


async def main() -> None:
    engine = Operon(g)
    print(engine)
    result = await engine.run({"text": "  Hello Rust Engine  "})
    print(result["report"])
    print("state:", result["$state"]["quickstart.counted", "words"], "words counted")


if __name__ == "__main__":
    asyncio.run(main())
