"""The exceptions operonx raises.

Every class derives from :class:`OperonError`. Classes raised while a graph is authored also keep the
builtin base that ``except`` clauses written for operonx 0.7.1 expect:

- :class:`GraphError` (a ``ValueError``): a graph that cannot be built or run as written;
  :class:`GraphValidationError` lists every problem in ``.errors`` (and ``.result.errors``), and
  :class:`SchemaVersionError` is raised for a document of another schema version.
- :class:`GraphTypeError` (a ``TypeError``): an unknown keyword argument, ``START >> ~op``.
- :class:`InputError` (a ``TypeError``): an op input with no value; ``.graph``, ``.op``, ``.input``,
  ``.context``, and ``.suggestion``: a key its source holds that looks like a typo of the one it
  reads (named in the message as "did you mean"), else ``None``. Also raised for run inputs that
  are not a mapping (then ``.op`` and ``.input`` are ``None``).
- :class:`OpError`: an op raised; ``.graph``, ``.op``, ``.context``, and the op's exception as
  ``__cause__``.
- :class:`RunCancelled`: the run was cancelled.
- :class:`OperonUsageError` (a ``RuntimeError``): the API was used in a way it does not support.
"""

from operonx._core import (
    GraphError,
    GraphTypeError,
    GraphValidationError,
    InputError,
    OpError,
    OperonError,
    OperonUsageError,
    RunCancelled,
    SchemaVersionError,
    ValidationIssue,
    ValidationResult,
)

__all__ = [
    "GraphError",
    "GraphTypeError",
    "GraphValidationError",
    "InputError",
    "OpError",
    "OperonError",
    "OperonUsageError",
    "RunCancelled",
    "SchemaVersionError",
    "ValidationIssue",
    "ValidationResult",
]
