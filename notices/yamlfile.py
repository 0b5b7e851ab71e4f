"""A strict YAML reader for configuration files that people edit by hand.

Plain ``yaml.safe_load`` has two traps for a partner directory: a repeated key silently wins over
the first one, and YAML 1.1 reads ``NO`` (Norway), ``ON`` or ``yes`` as booleans. This loader
refuses duplicate keys and only reads ``true``/``false`` as booleans.
"""

from __future__ import annotations

import re
from typing import Any

import yaml


class YamlSyntaxError(ValueError):
    """The text is not YAML this loader accepts; the message names line and column."""


class _StrictLoader(yaml.SafeLoader):
    pass


# Only ``true`` and ``false`` are booleans; ``NO``, ``yes``, ``on``... stay strings.
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            mark = key_node.start_mark
            raise YamlSyntaxError(
                f"line {mark.line + 1}, column {mark.column + 1}: duplicate key {key!r}"
            )
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates
)


def load_strict_yaml(text: str) -> Any:
    """Parse ``text`` as YAML, refusing duplicate keys; raise :class:`YamlSyntaxError` if bad."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise YamlSyntaxError(f"{where}{exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(str(exc)) from None
