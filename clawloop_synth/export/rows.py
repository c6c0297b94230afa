"""Pydantic records as typed ``datasets`` rows, and back.

The features are derived from the model's field types, so a field added to a contract is exported
without touching this module: strings, numbers and booleans become ``Value`` columns, lists of them
``List``, nested models structs, and every free-form JSON value (``Any``, ``dict[str, Any]``: tool
arguments, parameter schemas, states, expected values) a JSON column. A JSON column is the ``Json()``
feature where the installed ``datasets`` has it (stored as Arrow's JSON extension type, read back as
Python values) and a JSON-encoded string column otherwise; :func:`json_storage` says which.
"""

from __future__ import annotations

import functools
import json
import types
import typing
from typing import Any

from pydantic import BaseModel

__all__ = ["features_for", "from_row", "json_feature", "json_storage", "row_features", "to_row"]

_SCALARS: dict[type, str] = {str: "string", bool: "bool", int: "int64", float: "float64"}


def json_storage() -> str:
    """``"Json()"`` when the installed ``datasets`` has the JSON feature, else ``"string"``."""
    try:
        from datasets import Json  # noqa: F401
    except ImportError:
        return "string"
    return "Json()"


def json_feature() -> Any:
    """The feature for a free-form JSON value (see :func:`json_storage`)."""
    from datasets import Value

    if json_storage() == "Json()":
        from datasets import Json

        return Json()
    return Value("string")


def _is_json(feature: Any) -> bool:
    return type(feature).__name__ == "Json" or (getattr(feature, "dtype", None) == "string"
                                                and getattr(feature, "id", None) == "json")


def _strip_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _feature(annotation: Any) -> Any:
    from datasets import List, Value

    annotation = _strip_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return features_for(annotation)
    if annotation in _SCALARS:
        return Value(_SCALARS[annotation])
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation) or (Any,)
        return List(_feature(item))
    # Any, dict[str, Any], unions of several types: the shape varies from row to row.
    return _tagged_json()


def _tagged_json() -> Any:
    feature = json_feature()
    if json_storage() == "string":
        feature.id = "json"  # so the reader knows to decode it
    return feature


@functools.lru_cache(maxsize=64)
def _hints(model: type[BaseModel]) -> dict[str, Any]:
    """The model's resolved annotations: fixed for a class, and resolving them is most of the cost of
    :func:`features_for`, which every exported row asks for."""
    return typing.get_type_hints(model)


def features_for(model: type[BaseModel], extra: dict[str, Any] | None = None) -> Any:
    """``datasets.Features`` for ``model``'s fields (plus ``extra`` browse columns in front)."""
    from datasets import Features

    hints = _hints(model)
    fields = {name: _feature(hints[name]) for name in model.model_fields}
    return Features({**(extra or {}), **fields})


@functools.lru_cache(maxsize=8)
def row_features(model: type[BaseModel]) -> Any:
    """:func:`features_for` ``model``, made once: what :func:`to_row` and :func:`from_row` read for every row
    (making it per row was most of the cost of an export). Only read: never change the result."""
    return features_for(model)


def _encode(value: Any, feature: Any) -> Any:
    from datasets import List

    if _is_json(feature):
        # Always hand the JSON text over: given a bare string such as "12", Json() would store it as
        # the number 12.
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return None
    if isinstance(feature, List):
        return [_encode(item, feature.feature) for item in value]
    if isinstance(feature, dict):
        return {key: _encode(value.get(key), sub) for key, sub in feature.items()}
    return value


def _decode(value: Any, feature: Any) -> Any:
    from datasets import List

    if _is_json(feature):
        return json.loads(value) if json_storage() == "string" else value
    if value is None:
        return None
    if isinstance(feature, List):
        return [_decode(item, feature.feature) for item in value]
    if isinstance(feature, dict):
        return {key: _decode(value.get(key), sub) for key, sub in feature.items()}
    return value


def to_row(record: BaseModel, features: Any) -> dict[str, Any]:
    """``record`` as a row of ``features`` (columns the record lacks are left for the caller)."""
    data = record.model_dump(mode="json")
    return {name: _encode(data[name], features[name]) for name in type(record).model_fields}


def from_row(row: dict[str, Any], model: type[BaseModel], features: Any) -> Any:
    """The ``model`` record stored in ``row`` (browse columns are ignored)."""
    data = {name: _decode(row.get(name), features[name]) for name in model.model_fields}
    return model.model_validate(data)
