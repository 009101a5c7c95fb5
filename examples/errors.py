"""Errors: what a failed op, a missing input and errors="continue" look like.

Run it with `python examples/errors.py`.
"""

import asyncio

from operonx import END, PARENT, START, GraphOp, Operon, op
from operonx.errors import InputError, OperonError, OpError


@op
def parse(text):
    return {"number": int(text)}


@op
def invert(number):
    return {"inverse": 1 / number}


with GraphOp(name="calc") as g:
    parsed = parse(text=PARENT["text"])
    inverted = invert(number=parsed["number"])
    START >> parsed >> inverted >> END


async def main() -> None:
    engine = Operon(g)
    print("ok:", (await engine.run({"text": "4"}))["inverse"])

    # An op that raises fails the run with OpError: it names the graph, the op (by full name) and
    # the context it ran in, and carries the op's own exception as __cause__.
    try:
        await engine.run({"text": "0"})
    except OpError as e:
        print("OpError:", e)
        print("  graph:", e.graph, "| op:", e.op, "| context:", e.context, "| cause:", repr(e.__cause__))

    # A required input with no value is an InputError, raised before the op runs; a given key that
    # looks like a typo of the missing one is named ("did you mean").
    try:
        await engine.run({"txet": "4"})
    except InputError as e:
        print("InputError:", e)
        print("  op:", e.op, "| input:", e.input, "| suggestion:", e.suggestion)

    # Every error operonx raises is an OperonError.
    print("both are OperonErrors:", issubclass(OpError, OperonError) and issubclass(InputError, OperonError))

    # errors="continue": the run goes on past failed ops (their successors are skipped) and the
    # errors are listed under "$errors".
    results = [await engine.run({"text": text}, errors="continue") for text in ("2", "zero", "0")]
    for result in results:
        print("continue:", result.get("inverse"), [e.op for e in result.get("$errors", [])])

    # The same from a handle: handle.errors while it runs, "$errors" in result().
    handle = engine.start({"text": "x"}, errors="continue")
    result = await asyncio.wait_for(handle.result(), timeout=10)
    print("handle.errors:", [type(e.__cause__).__name__ for e in handle.errors], "| $errors:", len(result["$errors"]))


if __name__ == "__main__":
    asyncio.run(main())
