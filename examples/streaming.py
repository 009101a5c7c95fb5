"""Streaming: a generator op's items flow to the ops downstream and to the caller while the graph runs.

Run it with `python examples/streaming.py`.
"""

import asyncio

from operonx import END, PARENT, START, GraphOp, Operon, op


@op
async def fetch_pages(n):
    # An async generator: each yielded mapping is one item of the stream.
    for page in range(n):
        await asyncio.sleep(0.01)  # stands in for a network call
        yield {"page": page}


@op
async def summarize(page):
    # Runs once per item; later pages take less time, so with .parallel() they finish first.
    await asyncio.sleep(0.05 * (2 - page))
    return {"summary": f"page {page} summarized"}


@op
def count(pages):
    # With .collect() this op runs once, after the stream ends, with the list of every item.
    return {"pages_seen": len(pages)}


with GraphOp(name="crawl") as g:
    pages = fetch_pages(n=PARENT["n"])
    summary = summarize(page=pages["page"].parallel(max=4))  # items run concurrently, at most 4 at once
    total = count(pages=pages["page"].collect())
    START >> pages >> [summary, total] >> END


async def main() -> None:
    engine = Operon(g)

    # 1. Frames as they come: (op, context, forwarded outputs). The context names the item.
    handle = engine.start({"n": 3})
    async for name, ctx, data in handle:
        print("frame:", name, ctx, data)

    # 2. Wait for one value (the first summary to finish), then for the whole result (grouped by key).
    handle = engine.start({"n": 3})
    first = await asyncio.wait_for(handle.wait_for("summary", "summary"), timeout=10)
    print("first summary:", first)
    result = await asyncio.wait_for(handle.result(), timeout=10)
    print("all summaries:", sorted(result["summary"]))
    print("pages seen:", result["pages_seen"])

    # 3. run() gives the same grouping, plus "$state".
    result = await engine.run({"n": 3})
    print("run():", len(result["summary"]), "summaries,", result["pages_seen"], "pages")


if __name__ == "__main__":
    asyncio.run(main())
