import operonx
import operonx._core


def test_core_is_compiled_extension() -> None:
    assert operonx._core.__file__ is not None
    assert operonx._core.__file__.endswith(".so")
    assert operonx.__version__ == operonx._core.__version__
