"""Built-in ops (``if_``, ``ParserOp``... land here)."""

__all__: list[str] = []
