"""PostgreSQL's COPY text format: rows encoded a column at a time, streamed a slice at a time.

Values are encoded by their column's type; most columns are plain text needing no escapes,
and instants, flags and states repeat, so whole columns are checked or encoded once per
distinct value rather than value by value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from functools import lru_cache
from types import NoneType
from typing import Any

from sqlalchemy import Boolean, DateTime, Integer, String
from sqlalchemy import Enum as SAEnum
from sqlalchemy.types import TypeDecorator, TypeEngine

COPY_SLICE_ROWS = 2000
"""Rows encoded at a time for a COPY, while the server takes in the previous ones."""


class EncodedRows:
    """The rows as COPY text, encoded a slice at a time as the driver reads them.

    The driver sends each read to the server before asking for the next, so the server parses
    and indexes one slice while the next is being encoded here: the two overlap instead of the
    whole text being built first.
    """

    def __init__(self, types: list[TypeEngine[Any]], columns: list[list[Any]]) -> None:
        self._types = types
        self._columns = columns
        self._rows = len(columns[0])
        self._next_row = 0
        self._pending = ""

    def read(self, size: int = -1) -> str:
        while (size < 0 or len(self._pending) < size) and self._next_row < self._rows:
            self._pending += self._encode(self._next_row, self._next_row + COPY_SLICE_ROWS)
            self._next_row += COPY_SLICE_ROWS
        if size < 0 or len(self._pending) <= size:
            text, self._pending = self._pending, ""
        else:
            text, self._pending = self._pending[:size], self._pending[size:]
        return text

    def _encode(self, start: int, stop: int) -> str:
        encoded = [
            encode_column(column_type, values[start:stop])
            for column_type, values in zip(self._types, self._columns, strict=True)
        ]
        return "\n".join(map("\t".join, zip(*encoded, strict=True))) + "\n"


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def encode_column(column_type: TypeEngine[Any], values: list[Any]) -> list[str]:
    """The column's values in COPY's text format."""
    encode = encoder(column_type)
    kinds = set(map(type, values))
    if encode is _encode_text and kinds <= _PLAIN_TEXT:
        joined = "".join(filter(None, values))
        # One look over the whole column: text needing no escapes goes as it is.
        if not ("\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined):
            return values if NoneType not in kinds else [_NULL if v is None else v for v in values]
    elif encode is _encode_integer and kinds == {int}:
        return list(map(str, values))
    elif encode in _FEW_DISTINCT:
        # Instants, flags and states repeat: each distinct value is encoded once. Equal values
        # encode alike (equal instants in other zones still name the same instant).
        encoded = {value: encode(value) for value in set(values)}
        return list(map(encoded.__getitem__, values))
    return list(map(encode, values))


_NULL = "\\N"
_PLAIN_TEXT = frozenset({str, NoneType})


def encoder(column_type: TypeEngine[Any]) -> Callable[[Any], str]:
    """The COPY text encoder for values of ``column_type``."""
    if isinstance(column_type, TypeDecorator):
        column_type = column_type.impl_instance
    if isinstance(column_type, SAEnum):
        return _encode_state
    if isinstance(column_type, String):
        return _encode_text
    if isinstance(column_type, DateTime):
        return _encode_timestamp
    if isinstance(column_type, Boolean):
        return _encode_boolean
    if isinstance(column_type, Integer):
        return _encode_integer
    return _copy_text


def _encode_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if type(value) is not str:
        return _copy_text(value)
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_ESCAPES)
    return value


def _encode_timestamp(value: Any) -> str:
    return "\\N" if value is None else _timestamp_text(value)


@lru_cache(maxsize=8192)
def _timestamp_text(value: datetime) -> str:
    # Rows of one intake share a handful of instants (now, confirmation times): cached.
    if value.tzinfo is None:
        raise ValueError(f"timestamps must be timezone-aware, got {value!r}")
    return value.isoformat()


def _encode_state(value: Any) -> str:
    return _copy_text(value)


def _encode_boolean(value: Any) -> str:
    return "\\N" if value is None else ("t" if value else "f")


def _encode_integer(value: Any) -> str:
    return "\\N" if value is None else str(int(value))


_FEW_DISTINCT = frozenset({_encode_timestamp, _encode_boolean, _encode_state})


def _copy_text(value: Any) -> str:
    """One value in COPY's text format."""
    if type(value) is str:  # the common case first: most columns are text
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return value.translate(_ESCAPES)
        return value
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, Enum):
        value = value.value
    elif isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"timestamps must be timezone-aware, got {value!r}")
        return value.isoformat()
    elif isinstance(value, dict | list):
        value = json.dumps(value)
    return str(value).translate(_ESCAPES)
