"""Type stubs for the compiled `operonx._core` extension module."""

__version__: str
