"""Type stubs of the compiled engine module ``operonx._core``."""

from typing import Any, Mapping, final

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
    "Engine",
    "Run",
    "RunState",
    "Handle",
    "Ready",
]

def _panic_for_tests(message: str) -> None:
    """Panics inside the engine's guard (tests check it surfaces as OperonError)."""

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
    op: str
    input: str
    context: tuple[str, ...]

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
    def __new__(cls, document: str, hosts: list[Any]) -> Engine: ...
    def run(
        self,
        inputs: Mapping[str, Any] | None,
        errors: str = "raise",
        request_id: Any = None,
        session_id: Any = None,
        user_id: Any = None,
    ) -> Any: ...
    def start(
        self,
        inputs: Mapping[str, Any] | None,
        errors: str = "raise",
        retain_frames: bool = True,
        request_id: Any = None,
        session_id: Any = None,
        user_id: Any = None,
    ) -> Handle: ...
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

@final
class Handle:
    def __aiter__(self) -> Handle: ...
    def __anext__(self) -> Any: ...
    def wait_for(self, op: str, var: str) -> Any: ...
    def wait_done(self) -> Any: ...
    def cancel(self) -> None: ...
    def take_rest(self) -> list[tuple[str, tuple[str, ...], dict[str, Any]]]: ...
    def all_frames(self) -> list[tuple[str, tuple[str, ...], dict[str, Any]]]: ...
    def error(self) -> BaseException | None: ...
    @property
    def done(self) -> bool: ...
    @property
    def cancelled(self) -> bool: ...
    @property
    def frame_count(self) -> int: ...
    @property
    def retain_frames(self) -> bool: ...
