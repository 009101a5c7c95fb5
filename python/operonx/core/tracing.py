"""0.7.1's import path of the tracing API: ``from operonx.core.tracing import LocalTracer``."""

from __future__ import annotations

from operonx.tracing import LocalTracer, Tracer, flush

__all__ = ["LocalTracer", "Tracer", "flush"]
