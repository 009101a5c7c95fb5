"""Giving ops their resources: each op function with parameters annotated with
:class:`~operonx.resources.Resource` is wrapped, in the engine's host list, to receive them at each call."""

from __future__ import annotations

import inspect
import typing
from typing import Annotated, Any, Callable, Iterator

from operonx.errors import OperonUsageError
from operonx.resources import NO_HUB, NoResourceHubError, Resource, ResourceHub, ResourceNotFoundError, installed

__all__ = [
    "bind_resources", "check_hub", "engine_hub", "resolved_resources", "resource_parameters", "resources_declared",
    "with_resources",
]


class _WithResources:
    """An op's function with its resource parameters filled in at each call."""

    __slots__ = ("func", "needs", "hub", "__qualname__", "__name__", "__wrapped__")

    def __init__(self, func: Callable[..., Any], needs: tuple[tuple[str, str], ...], hub: ResourceHub | None) -> None:
        self.func, self.needs, self.hub, self.__wrapped__ = func, needs, hub, func
        self.__qualname__ = self.__name__ = getattr(func, "__qualname__", repr(func))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.update(resolved_resources(self.needs, self.hub, self.__qualname__))
        return self.func(*args, **kwargs)


def resolved_resources(needs: tuple[tuple[str, str], ...], hub: ResourceHub | None, qualname: str) -> dict[str, Any]:
    """Parameter -> value of the resources ``needs`` lists (``(parameter, resource name)``; an empty
    name asks for the hub itself), from ``hub``, else the process-wide one."""
    if hub is None:
        hub = installed()
    out: dict[str, Any] = {}
    for param, name in needs:
        if hub is None:
            raise NoResourceHubError(f"{qualname}(): parameter '{param}' asks for resource '{name}' and {NO_HUB}")
        out[param] = hub.resolve_(name, (qualname, param)) if name else hub
    return out


def _code_nodes(graph: Any) -> Iterator[Any]:
    """The code ops of ``graph`` and of its nested graphs (iteratively: graphs nest deeply)."""
    stack = [graph]
    while stack:
        for node in stack.pop().ops.values():
            if getattr(node, "spec_", None) is not None:
                yield node
            elif hasattr(node, "ops"):
                stack.append(node)


def engine_hub(resources: Any, env_file: Any) -> ResourceHub | None:
    """The hub of ``Operon(g, resources=..., env_file=...)``: ``resources`` a path or a hub."""
    if resources is None:
        if env_file is not None:
            raise OperonUsageError(
                "Operon(env_file=...) is read for the variables of resources=...: pass resources= too, or call "
                "operonx.bootstrap() to load ./.env into the environment"
            )
        return None
    if isinstance(resources, ResourceHub):
        if env_file is not None:
            raise OperonUsageError("Operon(resources=<a ResourceHub>, env_file=...): the hub is loaded already")
        return resources
    return ResourceHub.load(resources, env_file, stacklevel=4)


def bind_resources(graph: Any, hosts: list[Any], hub: ResourceHub | None) -> list[Any]:
    """``hosts`` with each op function that has resource parameters wrapped to receive them. With an engine
    hub, an op asking for a resource the hub does not have raises :class:`ResourceNotFoundError` naming
    the op, the parameter and the resource."""
    if not resources_declared():
        return hosts
    wrap: dict[int, tuple[Any, tuple[tuple[str, str], ...]]] = {}
    for node in _code_nodes(graph):
        spec = node.spec_
        needs = getattr(spec, "resources", ())
        if not needs:
            continue
        check_hub(node.full_name, needs, hub)
        wrap[id(spec.func)] = (spec.func, needs)
    if not wrap:
        return hosts
    out = list(hosts)
    for i, h in enumerate(out):
        got = wrap.get(id(h))
        if got is not None and got[0] is h:
            out[i] = _WithResources(h, got[1], hub)
    return out


def with_resources(func: Callable[..., Any], op_name: str, hub: ResourceHub | None) -> Callable[..., Any]:
    """``func``, the function of op ``op_name`` of a graph document (``Operon.from_json``), wrapped to
    receive its resource parameters at each call as :func:`bind_resources` wraps a graph's; ``func``
    itself when it has none. With an engine hub, a resource the hub does not have raises
    :class:`ResourceNotFoundError` naming the op, the parameter and the resource."""
    needs = resource_parameters(func)
    if not needs:
        return func
    check_hub(op_name, needs, hub)
    return _WithResources(func, needs, hub)


def check_hub(op_name: str, needs: tuple[tuple[str, str], ...], hub: ResourceHub | None) -> None:
    """Raises :class:`ResourceNotFoundError` for the first resource of ``needs`` an engine hub lacks."""
    if hub is None:
        return
    for param, name in needs:
        if name and name not in hub:
            raise ResourceNotFoundError(
                f"op '{op_name}': parameter '{param}' asks for resource '{name}', which is not in "
                f"{hub.source_path or 'the hub'}; it has: {', '.join(map(repr, hub.names())) or 'nothing'}",
                name, hub.names(), hub.source_path, op_name, param,
            )


class _Uses:
    """Whether any function declared a resource parameter yet: engines skip the scan until one does."""

    any = False


#: the marker of a parameter annotated with :class:`ResourceHub`: it receives the hub itself
_HUB = Resource("")


def _marker(annotation: Any) -> Resource | type[Resource] | None:
    if annotation is ResourceHub:
        return _HUB
    if annotation is Resource or isinstance(annotation, Resource):
        return annotation
    if typing.get_origin(annotation) is Annotated:
        for meta in annotation.__metadata__:
            if meta is Resource or isinstance(meta, Resource):
                return meta
    return None


def _annotations(func: Callable[..., Any], raw: dict[str, Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(func, include_extras=True)
    except Exception:  # an unresolvable annotation elsewhere: evaluate the ones that may be ours
        out = {}
        scope = getattr(func, "__globals__", {})
        for k, v in raw.items():
            try:
                out[k] = eval(v, scope) if isinstance(v, str) else v  # noqa: S307 (annotation text)
            except Exception:
                continue
        return out


def resources_declared() -> bool:
    """True once some function has declared a resource parameter."""
    return _Uses.any


def resource_parameters(func: Callable[..., Any]) -> tuple[tuple[str, str], ...]:
    """``(parameter, resource name)`` for each parameter of ``func`` annotated with :class:`Resource`."""
    raw = getattr(func, "__annotations__", None)
    if not raw:
        return ()
    text = [k for k, v in raw.items() if isinstance(v, str) and "Resource" in v]
    if not text and not any(_marker(v) is not None for v in raw.values() if not isinstance(v, str)):
        return ()
    hints = _annotations(func, raw) if text else raw
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return ()
    found = []
    for name, p in params.items():
        marker = _marker(hints.get(name))
        if marker is None:
            continue
        if p.kind in (p.POSITIONAL_ONLY, p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise OperonUsageError(f"{func.__qualname__}(): resource parameter '{name}' must be a named parameter")
        if marker is _HUB:
            found.append((name, ""))  # the hub itself
        else:
            found.append((name, (marker.name if isinstance(marker, Resource) else None) or name))
    if found:
        _Uses.any = True
    return tuple(found)
