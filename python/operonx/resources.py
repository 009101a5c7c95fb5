"""Resources: named provider configurations read from ``resources.yaml`` and ``.env``.

::

    # resources.yaml                      # .env
    llm:                                  OPENAI_API_KEY=sk-...
      gpt:
        model: gpt-4o
        api_key: ${OPENAI_API_KEY}
        base_url: ${OPENAI_BASE_URL:-https://api.openai.com/v1}

    import operonx
    from operonx.resources import Resource

    operonx.bootstrap()                    # ./.env into os.environ, ./resources.yaml as the process's hub

    @op
    def ask(question: str, llm: Resource["llm:gpt"]):     # injected: the settings of "llm:gpt"
        ...

Files are parsed in Rust (YAML by serde_norway, ``.env`` by dotenvy) into the hub the Rust API uses too.
``${VAR}`` is read from the environment, then from the ``.env`` file given to :meth:`ResourceHub.load` (the
environment wins); ``${VAR:-default}`` applies when unset or empty, ``${VAR:default}`` (0.7.1's) when unset.
An unset variable does not fail the load: a :class:`UnsetVariableWarning` names the variable, the key that
reads it and the file, and using that resource raises :class:`EnvVarUnsetError` naming the same.

Ops receive a resource by declaring a parameter annotated with :class:`Resource` (``llm: Resource`` reads
the resource named like the parameter; ``Resource["llm:gpt"]`` or ``Annotated[dict, Resource("llm:gpt")]``
names it; a parameter annotated with :class:`ResourceHub` receives the hub itself, for ops that pick a resource
by name at run time), or call :func:`get`. An engine made with ``Operon(g, resources=...)`` gives its ops the
entries of its own hub; otherwise ops read the process-wide hub installed by :func:`bootstrap` or
:meth:`ResourceHub.install`.
"""

from __future__ import annotations

import os
import typing
import warnings
from pathlib import Path
from typing import Any, Annotated, Iterator, NamedTuple

from operonx._core import ResourceHub as _CoreHub
from operonx.errors import OperonError

__all__ = [
    "BOOTSTRAP_ENV_PATHS", "EnvVarUnsetError", "NoResourceHubError", "Resource", "ResourceError",
    "ResourceFileError", "ResourceFileNotFoundError", "ResourceHub", "ResourceHubWarning", "ResourceNotFoundError",
    "UnsetVariable", "UnsetVariableWarning", "bootstrap", "get", "installed",
]

#: The ``.env`` files :func:`bootstrap` looked for, absolute (0.7.1's name).
BOOTSTRAP_ENV_PATHS: list[Path] = []


class ResourceHubWarning(UserWarning):
    """A warning about resource setup (``warnings.filterwarnings("ignore", category=ResourceHubWarning)``)."""


class UnsetVariableWarning(ResourceHubWarning):
    """A ``${VAR}`` of ``resources.yaml`` whose variable is set nowhere: ``.variable``, ``.key`` (the
    setting that reads it, ``llm:gpt.api_key``), ``.resource`` and ``.file``."""

    def __init__(self, message: str, variable: str, key: str, resource: str, file: str) -> None:
        super().__init__(message)
        self.variable, self.key, self.resource, self.file = variable, key, resource, file


class ResourceError(OperonError):
    """Base of the resource errors."""

    def __str__(self) -> str:  # the message as given, also for the KeyError and OSError subclasses
        return str(self.args[0]) if self.args else ""


class ResourceFileError(ResourceError, ValueError):
    """A ``resources.yaml`` or ``.env`` that does not parse, or is not shaped as named resources:
    ``.file`` and ``.line`` (1-based, ``None`` when unknown)."""

    def __init__(self, message: str, file: str, line: int | None = None) -> None:
        super().__init__(message)
        self.file, self.line = file, line


class ResourceFileNotFoundError(ResourceError, FileNotFoundError):
    """A ``resources.yaml`` or ``.env`` file given by path does not exist (``.file``)."""

    def __init__(self, message: str, file: str) -> None:
        super().__init__(message)
        self.file = file


class ResourceNotFoundError(ResourceError, KeyError):
    """The hub has no resource of that name: ``.name``, ``.available`` (the names it has), ``.file``;
    for an op's parameter also ``.op`` and ``.parameter``."""

    def __init__(
        self, message: str, name: str, available: list[str], file: str | None,
        op: str | None = None, parameter: str | None = None,
    ) -> None:
        super().__init__(message)
        self.name, self.available, self.file, self.op, self.parameter = name, available, file, op, parameter


class EnvVarUnsetError(ResourceError, RuntimeError):
    """A resource was used whose settings read a variable that was unset when the hub was loaded:
    ``.variable``, ``.key``, ``.resource``, ``.file`` (0.7.1's name)."""

    def __init__(self, message: str, variable: str, key: str, resource: str, file: str) -> None:
        super().__init__(message)
        self.variable, self.key, self.resource, self.file = variable, key, resource, file


class NoResourceHubError(ResourceError, RuntimeError):
    """A resource was asked for and no hub is installed (see :func:`bootstrap`)."""


class UnsetVariable(NamedTuple):
    """One unset variable of a loaded hub (see :attr:`ResourceHub.warnings`)."""

    variable: str
    key: str
    resource: str
    file: str


def _raise_load_error(error: tuple[str, str, str, int | None]) -> typing.NoReturn:
    kind, message, file, line = error
    if kind == "not_found":
        raise ResourceFileNotFoundError(message, file)
    raise ResourceFileError(message, file, line)


class ResourceHub:
    """Named provider configurations (see the module documentation). Made by :meth:`load` (or
    :meth:`from_yaml`, :meth:`empty`); ``hub.get(name)`` gives a resource's settings as a new dict."""

    __slots__ = ("_core",)

    def __init__(self, core: _CoreHub) -> None:
        if not isinstance(core, _CoreHub):
            raise TypeError(f"make a ResourceHub with ResourceHub.load(path) or ResourceHub.empty(), not from {core!r}")
        self._core = core

    @classmethod
    def load(
        cls, resources: str | os.PathLike[str] = "resources.yaml", env_file: str | os.PathLike[str] | None = None,
        *, stacklevel: int = 2,
    ) -> ResourceHub:
        """Loads ``resources`` (a path), taking ``${VAR}`` from the environment, then from ``env_file``
        (read only: ``os.environ`` is not changed). A missing file raises
        :class:`ResourceFileNotFoundError`, one that does not parse :class:`ResourceFileError` (with the
        line); each unset variable is an :class:`UnsetVariableWarning` (``stacklevel`` as for
        ``warnings.warn``)."""
        core, error = _CoreHub.load(os.fspath(resources), None if env_file is None else os.fspath(env_file))
        if core is None:
            _raise_load_error(error)  # type: ignore[arg-type]
        hub = cls(core)
        for w in hub.warnings:
            message = (
                f"{w.file}: ${{{w.variable}}} is not set (read by {w.key}); resource '{w.resource}' fails "
                "when it is used unless the variable is set in the environment or the .env file"
            )
            warnings.warn(UnsetVariableWarning(message, *w), stacklevel=stacklevel)
        return hub

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> ResourceHub:
        """:meth:`load` of ``path`` with variables from the environment only (0.7.1's name)."""
        return cls.load(path, stacklevel=3)

    @classmethod
    def empty(cls) -> ResourceHub:
        """A hub with no resources."""
        return cls(_CoreHub.empty())

    def get(self, name: str) -> dict[str, Any]:
        """The settings of resource ``name`` (a new dict each call). Raises
        :class:`ResourceNotFoundError` when there is none, :class:`EnvVarUnsetError` when they read an
        unset variable."""
        return self.resolve_(name, None)

    get_config = get

    def resolve_(self, name: str, who: tuple[str, str] | None) -> dict[str, Any]:
        """:meth:`get`, with ``who`` = (function, parameter) named in the error when it fails."""
        code, value = self._core.lookup(name)
        if code == 0:
            return value
        prefix = "" if who is None else f"{who[0]}(): parameter '{who[1]}' asks for resource '{name}': "
        if code == 2:
            message, variable, key, file = value
            raise EnvVarUnsetError(prefix + message, variable, key, name, file)
        message, available = value
        raise ResourceNotFoundError(
            prefix + message, name, available, self.source_path, None if who is None else who[0],
            None if who is None else who[1],
        )

    def names(self) -> list[str]:
        """The resource names, in file order (``category:name`` for nested categories)."""
        return self._core.names()

    keys = names

    def has(self, name: str) -> bool:
        """True when the hub has a resource of this name (usable or not)."""
        return name in self._core

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._core

    def __len__(self) -> int:
        return len(self._core)

    def __iter__(self) -> Iterator[str]:
        return iter(self._core.names())

    def __repr__(self) -> str:
        return f"<ResourceHub {self.source_path or '(empty)'} resources={self.names()!r}>"

    @property
    def source_path(self) -> str | None:
        """The ``resources.yaml`` the hub was loaded from (absolute)."""
        return self._core.source_path

    @property
    def env_file(self) -> str | None:
        """The ``.env`` file whose variables the hub read."""
        return self._core.env_file

    @property
    def warnings(self) -> list[UnsetVariable]:
        """Every unset variable found at load, in file order."""
        return [UnsetVariable(*w) for w in self._core.warnings()]

    def install(self) -> ResourceHub:
        """Makes this the process-wide hub (read by :func:`get`, and by ops of engines with no hub of their
        own), replacing the one installed before; returns it."""
        self._core.install()
        return self

    @classmethod
    def instance(cls) -> ResourceHub:
        """The process-wide hub; raises :class:`NoResourceHubError` when none is installed (0.7.1's name)."""
        hub = installed()
        if hub is None:
            raise NoResourceHubError(NO_HUB)
        return hub

    @classmethod
    def set_instance(cls, hub: ResourceHub) -> None:
        """Installs ``hub`` (0.7.1's name for :meth:`install`)."""
        hub.install()

    @classmethod
    def reset_instance(cls) -> None:
        """Removes the process-wide hub."""
        _CoreHub.uninstall()


NO_HUB = (
    "no resource hub is installed: call operonx.bootstrap() (reads ./.env and ./resources.yaml), "
    "ResourceHub.load(path).install(), or give the engine its own with Operon(graph, resources=...)"
)


def installed() -> ResourceHub | None:
    """The process-wide hub, or ``None``."""
    core = _CoreHub.installed()
    return None if core is None else ResourceHub(core)


def get(name: str) -> dict[str, Any]:
    """The settings of resource ``name`` of the process-wide hub (see :meth:`ResourceHub.get`); raises
    :class:`NoResourceHubError` when no hub is installed."""
    return ResourceHub.instance().get(name)


def bootstrap(*, resources: str | os.PathLike[str] | None = None, env: bool = True) -> ResourceHub | None:
    """Loads ``./.env`` of the working directory into ``os.environ`` (variables already set are kept) and
    ``./resources.yaml`` (or ``resources``) into a hub that becomes the process-wide hub, replacing any
    installed before; returns it.

    A missing ``./.env`` is fine. A missing ``./resources.yaml`` is a :class:`ResourceHubWarning` and
    returns ``None`` (nothing installed); a missing ``resources`` path raises
    :class:`ResourceFileNotFoundError`; a ``.env`` or ``resources.yaml`` that does not parse raises
    :class:`ResourceFileError` naming the file and the line. Unset variables are
    :class:`UnsetVariableWarning`\\ s.
    """
    env_path = (Path.cwd() / ".env").resolve()
    loaded_env = None
    if env:
        if env_path not in BOOTSTRAP_ENV_PATHS:
            BOOTSTRAP_ENV_PATHS.append(env_path)
        if env_path.is_file():
            pairs, error = _CoreHub.read_env_file(str(env_path))
            if pairs is None:
                _raise_load_error(error)  # type: ignore[arg-type]
            for key, value in pairs:
                os.environ.setdefault(key, value)
            loaded_env = env_path
    if resources is None:
        path = Path.cwd() / "resources.yaml"
        if not path.is_file():
            message = f"no resources.yaml at {path.resolve()}: no resource hub installed (ops that ask for a resource "
            warnings.warn(message + "will fail); pass bootstrap(resources=<path>) if the file is elsewhere",
                          ResourceHubWarning, stacklevel=2)
            return None
        resources = path
    return ResourceHub.load(resources, loaded_env, stacklevel=3).install()


class Resource:
    """Annotation of an op parameter that receives a resource's settings (a dict):

    - ``llm: Resource``: the resource named like the parameter;
    - ``llm: Resource["llm:gpt"]`` (``Annotated[dict[str, Any], Resource("llm:gpt")]``): that resource.

    Such a parameter is not an input of the op: the engine passes it at each call, from its own hub
    (``Operon(g, resources=...)``) or the process-wide one.
    """

    __slots__ = ("name",)

    def __init__(self, name: str | None = None) -> None:
        self.name = name

    def __class_getitem__(cls, name: str) -> Any:
        return Annotated[dict[str, Any], cls(name)]

    def __repr__(self) -> str:
        return f"Resource({self.name!r})"
