"""Every route the app serves, however routers were included."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from starlette.routing import Mount


def all_routes(routes: Iterable[Any], prefix: str = "") -> Iterator[tuple[str, frozenset[str]]]:
    """(path, methods) of each route; mounts give ``("MOUNT", ...)`` with their path."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from all_routes(included.routes, prefix + route.include_context.prefix)
        elif isinstance(route, Mount):
            yield prefix + route.path, frozenset({"MOUNT"})
        else:
            yield prefix + route.path, frozenset(getattr(route, "methods", None) or {"GET"})
