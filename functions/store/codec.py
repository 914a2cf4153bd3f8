"""Python values <-> DynamoDB attribute values, by hand because boto3's serializer is slow on the hot path.

Numbers keep their kind: an int is written without a point, a float with one, a Decimal as it is, so that
metadata reads back as it was sent.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from decimal import Decimal
from typing import Any, TypeVar

Entity = TypeVar("Entity")


def to_attr(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, float):
        return {"N": repr(value)}
    if isinstance(value, Decimal):
        return {"N": format(value, "f")}
    if value is None:
        return {"NULL": True}
    if isinstance(value, dict):
        return {"M": {k: to_attr(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_attr(v) for v in value]}
    raise TypeError(f"cannot store {type(value).__name__}")


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: to_attr(v) for k, v in values.items() if v is not None}


def number(text: str) -> int | float | Decimal:
    if "." in text or "e" in text or "E" in text:
        return float(text)
    return int(text)


def from_attr(attr: dict[str, Any]) -> Any:
    (kind, value), = attr.items()
    if kind == "S":
        return value
    if kind == "N":
        return number(value)
    if kind == "BOOL":
        return value
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_attr(v) for k, v in value.items()}
    if kind == "L":
        return [from_attr(v) for v in value]
    if kind == "SS":
        return set(value)
    raise TypeError(f"unsupported attribute type {kind}")


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: from_attr(v) for k, v in item.items()}


def decimal_attr(attr: dict[str, Any] | None) -> Decimal | None:
    """Aggregates are exact: read numbers of an aggregate as Decimal, never float."""
    if attr is None or "NULL" in attr:
        return None
    return Decimal(attr["N"])


_FIELD_NAMES: dict[type, frozenset[str]] = {}


def entity_from_values(cls: type[Entity], values: dict[str, Any]) -> Entity:
    """An entity (store/entities.py) from its item's values: they are named as its fields; a value no field names
    (the keys, an index's attributes) is ignored, and a field the item lacks takes its default."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = frozenset(f.name for f in fields(cls))  # type: ignore[arg-type]
    return cls(**{k: v for k, v in values.items() if k in names})


def entity_from_item(cls: type[Entity], item: dict[str, Any]) -> Entity:
    return entity_from_values(cls, from_item(item))


def entity_item(entity: Any) -> dict[str, Any]:
    """The attributes of an entity's item (None fields are left out)."""
    return to_item(asdict(entity))
