"""Pumps an async generator op's items into the engine (one task per generator run)."""

from typing import Any, AsyncIterator, Callable


async def pump(agen: AsyncIterator[Any], sink: Callable[[Any], Any]) -> None:
    """Hands every item of ``agen`` to ``sink``; awaits what ``sink`` returns when the consumer lags."""
    try:
        async for item in agen:
            wait = sink(item)
            if wait is not None:
                await wait
    finally:
        aclose = getattr(agen, "aclose", None)
        if aclose is not None:
            await aclose()
