"""operonx: a workflow engine with a Rust core."""

from operonx._core import __version__

__all__ = ["__version__"]
