"""Middleware, batch with a concurrency cap, Operon.from_json and the op registry, as users type them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from operonx import END, PARENT, START, GraphOp, Middleware, Operon, op, registry
from operonx.registry import OpEntry


@op
def typed_double(x: int) -> dict[str, int]:
    return {"y": x * 2}


class Audit(Middleware):
    async def before_run(self, graph: Any, inputs: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        return {**inputs, "x": int(inputs["x"])}

    async def after_run(
        self, graph: Any, inputs: dict[str, Any], result: dict[str, Any], context: dict[str, Any]
    ) -> dict[str, Any]:
        return {**result, "request": context["request_id"]}

    async def on_error(self, graph: Any, inputs: dict[str, Any], error: BaseException, context: dict[str, Any]) -> None:
        raise error


with GraphOp(name="typed_services") as g:
    START >> typed_double(x=PARENT["x"]) >> END

engine = Operon(g, middleware=[Audit()]).use(Audit())


async def main() -> list[dict[str, Any]]:
    return await engine.batch([{"x": 1}, {"x": 2}], concurrency=2)


results = asyncio.run(main())
print([r["y"] for r in results])

again = Operon.from_json(json.dumps(g.export_config()), ops={"typed_double": typed_double})
print(again.run_sync({"x": 3})["y"])
found: OpEntry | None = registry.lookup("typed_double")
if found is not None:
    print(found.qualified_name, found.location)
print(len(registry.entries()), [e.name for e in registry.candidates("typed_double")])
