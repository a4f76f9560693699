"""Positions that travel with the values: the pydantic types that validate into `Sourced`.

The loader gives every YAML mapping as a `NodeMap` and every list as a `NodeList`: plain
``dict``/``list`` to the validators, which also remember where each child's value starts. The
models in `orchestrator.playbook.schema` then keep that position with the value itself:

* a field typed ``SourcedValue[T]`` validates its value as ``T`` and holds a ``Sourced[T]``
  (the model's `locate_fields` before-validator hands it the value with its position);
* ``SourcedValues(plain)`` on a mapping validates it as ``plain`` and holds each value as a
  ``Sourced`` (the caption library: one position per title);
* ``Placed()`` on a list of models gives each item its own position (``item.source``).

So the merge reads ``spec.state`` and gets a ``Sourced[str]``: nothing looks a position up by
path after validation. The wrapping is done by wrap validators around the inner type's own
schema, so error locations, messages and the JSON Schema are those of the inner type.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema

from orchestrator.contract.sourced import Position, Sourced
from orchestrator.playbook.positions import NodeList, NodeMap

T = TypeVar("T")

#: Where a value validated from plain data (not from a loaded file) says it comes from.
UNKNOWN = Position("<unknown>", 0, 0)


@dataclass(frozen=True)
class Located:
    """A raw value on its way into a ``SourcedValue`` field, with the position of its node."""

    value: Any
    source: Position


class _SourcedSchema:
    """Validate the inner type of ``Sourced[T]`` as ``T``, then wrap it with its position."""

    def __get_pydantic_core_schema__(self, source_type: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        (inner,) = get_args(source_type)
        return core_schema.no_info_wrap_validator_function(_wrap, handler.generate_schema(inner))


def _wrap(value: Any, validate: core_schema.ValidatorFunctionWrapHandler) -> Sourced[Any]:
    if isinstance(value, Located):
        return Sourced(validate(value.value), value.source)
    return Sourced(validate(value), UNKNOWN)


_SOURCED = _SourcedSchema()

#: A model field holding a ``T`` and the position of the value that set it.
SourcedValue = Annotated[Sourced[T], _SOURCED]


@dataclass(frozen=True)
class SourcedValues:
    """On a ``dict[str, Sourced[X]]`` field: validate the mapping as ``plain`` (a mapping type
    whose validator may change the keys to their text), then wrap each value with its position."""

    plain: Any

    def __get_pydantic_core_schema__(self, source_type: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_wrap_validator_function(_wrap_values, handler.generate_schema(self.plain))


def _wrap_values(value: Any, validate: core_schema.ValidatorFunctionWrapHandler) -> dict[str, Sourced[Any]]:
    out: Mapping[Any, Any] = validate(value)
    positions = {str(k): p for k, p in value.positions.items()} if isinstance(value, NodeMap) else {}
    return {key: Sourced(item, positions.get(str(key), UNKNOWN)) for key, item in out.items()}


@dataclass(frozen=True)
class Placed:
    """On a list of `SourcedModel` items: give each validated item the position of its node."""

    def __get_pydantic_core_schema__(self, source_type: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_wrap_validator_function(_place_items, handler(source_type))


def _place_items(value: Any, validate: core_schema.ValidatorFunctionWrapHandler) -> Any:
    out = validate(value)
    if isinstance(value, NodeList):
        for item, position in zip(out, value.positions, strict=True):
            item._source = position
    return out


class SourcedModel(BaseModel):
    """Base of the playbook models: hands ``SourcedValue`` fields their value with its position,
    and remembers the model's own position when it is an item of a ``Placed`` list."""

    _source: Position = UNKNOWN

    @property
    def source(self) -> Position:
        """Where this mapping (or short form) starts, when it is an item of a ``Placed`` list."""
        return self._source

    @classmethod
    def locate_fields(cls, data: Any, extra_sourced: bool = False) -> Any:
        """``data`` with each value of a ``SourcedValue`` field as a `Located` (and, with
        ``extra_sourced``, each unknown key's value as a `Sourced`: extra keys are not validated).
        An explicit null stays as it is, so an optional field still reads it as "not given"."""
        if not isinstance(data, NodeMap):
            return data
        sourced = sourced_fields(cls)
        if not sourced and not extra_sourced:
            return data
        out = dict(data)
        for key, value in data.items():
            position = data.positions.get(key, UNKNOWN)
            if key in sourced:
                if value is not None:
                    out[key] = Located(value, position)
            elif extra_sourced and key not in known_keys(cls):
                out[key] = Sourced(value, position)
        return out


@cache
def sourced_fields(model: type[BaseModel]) -> frozenset[str]:
    """The keys (aliases) of ``model``'s ``SourcedValue`` fields."""
    return frozenset(field.alias or name for name, field in model.model_fields.items()
                     if _SOURCED in field.metadata or _holds_sourced(field.annotation))


@cache
def known_keys(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(field.alias or name for name, field in model.model_fields.items())


def _holds_sourced(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _SOURCED in get_args(annotation)[1:] or _holds_sourced(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return any(_holds_sourced(arg) for arg in get_args(annotation))
    return False


__all__ = ["Located", "Placed", "SourcedModel", "SourcedValue", "SourcedValues", "UNKNOWN", "sourced_fields"]
