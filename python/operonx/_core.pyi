"""Type stubs of the compiled engine module ``operonx._core``."""

from typing import Any, Generator, Mapping, NamedTuple, final

__version__: str
__all__ = [
    "__version__",
    "OperonError",
    "GraphError",
    "GraphValidationError",
    "SchemaVersionError",
    "GraphTypeError",
    "InputError",
    "OpError",
    "RunCancelled",
    "OperonUsageError",
    "ValidationIssue",
    "ValidationResult",
    "_panic_for_tests",
    "check_until",
    "Engine",
    "Run",
    "RunState",
    "Handle",
    "NextFrame",
    "Ready",
    "Frame",
    "LevelCache",
    "LocalTracer",
    "TraceQueue",
    "flush_traces",
]

def _panic_for_tests(message: str) -> None:
    """Panics inside the engine's guard (tests check it surfaces as OperonError)."""

def check_until(text: str) -> None:
    """Checks a loop's ``until`` text against the engine's grammar (the one the engine runs).

    Raises :class:`GraphError` saying why the engine would refuse it, naming any construct it does
    not support (calls, ``in``, ``lambda``, conditional expressions, displays, slices...).
    """

class OperonError(Exception): ...
class GraphError(OperonError, ValueError): ...

class GraphValidationError(GraphError):
    graph: str
    errors: list[ValidationIssue]
    result: ValidationResult

class SchemaVersionError(GraphError):
    found: str

class GraphTypeError(OperonError, TypeError): ...

class InputError(OperonError, TypeError):
    graph: str
    op: str | None
    input: str | None
    context: tuple[str, ...] | None
    suggestion: str | None

class OpError(OperonError):
    graph: str
    op: str
    context: tuple[str, ...]

class RunCancelled(OperonError):
    graph: str

class OperonUsageError(OperonError, RuntimeError): ...

@final
class ValidationIssue:
    @property
    def category(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def op_name(self) -> str | None: ...
    @property
    def target_name(self) -> str | None: ...

@final
class ValidationResult:
    @property
    def valid(self) -> bool: ...
    @property
    def errors(self) -> list[ValidationIssue]: ...

@final
class Engine:
    def __new__(cls, document: str, hosts: list[Any], tracer: list[Any] | None = None) -> Engine: ...
    def run(
        self,
        inputs: Mapping[str, Any] | None,
        errors: str = "raise",
        request_id: Any = None,
        session_id: Any = None,
        user_id: Any = None,
    ) -> Any: ...
    def run_traced(
        self,
        inputs: Mapping[str, Any] | None,
        errors: str = "raise",
        request_id: Any = None,
        session_id: Any = None,
        user_id: Any = None,
        tracer: list[Any] | None = None,
    ) -> Any: ...
    @property
    def traced(self) -> bool: ...
    def start(
        self,
        inputs: Mapping[str, Any] | None,
        errors: str = "raise",
        retain_frames: bool = True,
        request_id: Any = None,
        session_id: Any = None,
        user_id: Any = None,
        tracer: list[Any] | None = None,
    ) -> Handle: ...
    def check_inputs(self, inputs: Mapping[str, Any] | None) -> Mapping[str, Any]: ...
    @property
    def name(self) -> str: ...
    @property
    def full_name(self) -> str: ...
    @property
    def op_count(self) -> int: ...
    @property
    def has_async(self) -> bool: ...
    @property
    def graph_inputs(self) -> list[str]: ...
    @property
    def graph_outputs(self) -> list[str]: ...

@final
class Run: ...

@final
class LocalTracer:
    """Writes each traced run's trace to ``<path>/<request_id>.json``, in Rust, off the event loop."""
    def __new__(cls, path: str, tags: list[str] = ...) -> LocalTracer: ...
    @property
    def path(self) -> str: ...
    def take_failures(self) -> list[str]: ...

@final
class TraceQueue:
    """The traces of the runs a Python tracer traces, taken in batches by its thread."""
    def __new__(
        cls, tags: list[str] = ..., stream_trace_limit: int | None = None, capture: Any = None
    ) -> TraceQueue: ...
    def take(self, max: int, timeout: float) -> list[dict[str, Any]] | None: ...
    def done(self, n: int) -> None: ...
    def pending(self) -> int: ...
    def close(self) -> None: ...

def flush_traces(timeout: float = 10.0) -> bool:
    """Waits until the traces of the runs that ended are handed to their tracers."""
    ...

@final
class LevelCache(dict[int, bool]):
    """The ``operonx`` logger's cache of ``isEnabledFor`` answers; clearing it makes engines ask again."""
    def clear(self) -> None: ...

@final
class RunState:
    def __getitem__(self, key: tuple[str, str], /) -> Any: ...
    def get(self, key: tuple[str, str], default: Any = None) -> Any: ...
    def __contains__(self, key: tuple[str, str], /) -> bool: ...
    def keys(self) -> list[tuple[str, Any]]: ...
    def __iter__(self) -> Any: ...
    def __len__(self) -> int: ...
    @property
    def tags(self) -> list[Any]: ...
    @property
    def loops(self) -> dict[str, dict[str, int]]: ...
    @property
    def ops_run(self) -> int: ...
    @property
    def request_id(self) -> Any: ...
    @property
    def session_id(self) -> Any: ...
    @property
    def user_id(self) -> Any: ...

@final
class Ready:
    def __await__(self) -> Ready: ...
    def __iter__(self) -> Ready: ...
    def __next__(self) -> Any: ...
    def send(self, value: Any) -> Any: ...

class Frame(NamedTuple):
    """One result of a streaming run (``operonx.Frame``, made here): the op's short name, its context
    path and its forwarded outputs."""

    op: str
    context: tuple[str, ...]
    data: dict[str, Any]

@final
class NextFrame:
    """Awaiting it gives the next :class:`Frame`; the frame is taken only when the awaiting task resumes."""

    def __await__(self) -> Generator[Any, None, Frame]: ...
    def __iter__(self) -> NextFrame: ...
    def __next__(self) -> Any: ...
    def send(self, value: Any) -> Any: ...
    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any: ...
    def close(self) -> None: ...

@final
class Handle:
    def __aiter__(self) -> Handle: ...
    def __anext__(self) -> NextFrame: ...
    def wait_for(self, op: str, var: str) -> Any: ...
    def wait_done(self) -> Any: ...
    def cancel(self) -> None: ...
    def take_rest(self) -> list[Frame]: ...
    def all_frames(self) -> list[Frame]: ...
    def result(self, unwrap: bool = True) -> dict[str, Any]: ...
    def collect_rest(self, unwrap: bool = False) -> dict[str, Any]: ...
    def error(self) -> BaseException | None: ...
    def errors(self) -> list[BaseException]: ...
    @property
    def error_mode(self) -> str: ...
    @property
    def done(self) -> bool: ...
    @property
    def state(self) -> str: ...
    @property
    def cancelled(self) -> bool: ...
    @property
    def frame_count(self) -> int: ...
    @property
    def retain_frames(self) -> bool: ...
