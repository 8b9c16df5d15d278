"""Frozen records to JSON and back, in one place.

Step inputs, step details and the cutover's state are frozen dataclasses;
the plan file and the journal hold them as JSON. :func:`to_json` and
:func:`from_json` convert by the dataclass's own type hints (nested records,
tuples, mappings, optionals), or by a type's own ``to_dict``/``from_dict``
when it has them. Unknown keys are ignored and missing ones take their
defaults, so a journal written by an older snapmigrate still reads.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar, Union, cast, get_args, get_origin

R = TypeVar("R")
Json = Any  # a JSON value: dict, list, str, int, float, bool or None


def to_json(value: Any) -> Json:
    """Records, tuples and mappings as plain JSON values."""
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, type):
        return to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


@functools.cache
def _hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_json(kind: Any, data: Json) -> Any:
    """``data`` (from :func:`to_json`) as a value of type ``kind``."""
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        if data is None:
            return None
        options = [a for a in get_args(kind) if a is not type(None)]
        return from_json(options[0], data) if len(options) == 1 else data
    if origin is tuple:
        args = get_args(kind)
        item = args[0] if args else Any
        return tuple(from_json(item, v) for v in data or ())
    if origin in (dict, Mapping, typing.Mapping) or kind in (dict, Mapping):
        args = get_args(kind)
        item = args[1] if len(args) == 2 else Any
        return {k: from_json(item, v) for k, v in (data or {}).items()}
    if origin is typing.Literal or kind is Any or data is None:
        return data
    if isinstance(kind, type):
        if hasattr(kind, "from_dict"):
            return kind.from_dict(data)
        if dataclasses.is_dataclass(kind):
            return record(kind, data)
    return data


def record(cls: type[R], data: Mapping[str, Json]) -> R:
    """A dataclass ``cls`` from its JSON: known fields converted, unknown keys ignored."""
    hints = _hints(cast(Any, cls))
    values = {
        f.name: from_json(hints[f.name], data[f.name])
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.name in data and f.init
    }
    return cls(**values)


@dataclasses.dataclass(frozen=True)
class Record:
    """Base of the records kept as JSON: ``to_dict`` and ``from_dict`` by type hints."""

    def to_dict(self) -> dict[str, Json]:
        return {f.name: to_json(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls: type[R], data: Mapping[str, Json] | None) -> R:
        return record(cls, data or {})


@dataclasses.dataclass(frozen=True)
class Sparse(Record):
    """A record whose JSON leaves out the fields that are None (not known yet)."""

    #: Fields written even when None.
    always: ClassVar[frozenset[str]] = frozenset()

    def to_dict(self) -> dict[str, Json]:
        data = super().to_dict()
        return {k: v for k, v in data.items() if v is not None or k in self.always}
