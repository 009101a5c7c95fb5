"""Giving ops their resources: each op function with parameters annotated with
:class:`~operonx.resources.Resource` is wrapped, in the engine's host list, to receive them at each call."""

from __future__ import annotations

from typing import Any, Callable, Iterator

from operonx.errors import OperonUsageError
from operonx.resources import (
    NO_HUB,
    NoResourceHubError,
    ResourceHub,
    ResourceNotFoundError,
    installed,
    resources_declared,
)

__all__ = ["bind_resources", "engine_hub"]


class _WithResources:
    """An op's function with its resource parameters filled in at each call."""

    __slots__ = ("func", "needs", "hub", "__qualname__", "__name__", "__wrapped__")

    def __init__(self, func: Callable[..., Any], needs: tuple[tuple[str, str], ...], hub: ResourceHub | None) -> None:
        self.func, self.needs, self.hub, self.__wrapped__ = func, needs, hub, func
        self.__qualname__ = self.__name__ = getattr(func, "__qualname__", repr(func))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        hub = self.hub if self.hub is not None else installed()
        for param, name in self.needs:
            if hub is None:
                raise NoResourceHubError(
                    f"{self.__qualname__}(): parameter '{param}' asks for resource '{name}' and {NO_HUB}"
                )
            kwargs[param] = hub.resolve_(name, (self.__qualname__, param))
        return self.func(*args, **kwargs)


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
        if hub is not None:
            for param, name in needs:
                if name not in hub:
                    raise ResourceNotFoundError(
                        f"op '{node.full_name}': parameter '{param}' asks for resource '{name}', which is not in "
                        f"{hub.source_path or 'the hub'}; it has: {', '.join(map(repr, hub.names())) or 'nothing'}",
                        name, hub.names(), hub.source_path, node.full_name, param,
                    )
        wrap[id(spec.func)] = (spec.func, needs)
    if not wrap:
        return hosts
    out = list(hosts)
    for i, h in enumerate(out):
        got = wrap.get(id(h))
        if got is not None and got[0] is h:
            out[i] = _WithResources(h, got[1], hub)
    return out
