"""A `Partial` as an item holds it (an aggregate, a quantity bucket): the update that adds one, and the read.

Count and sum are ADDed. Min, max and last only move one way: each is set only where the value read does not
already beat the new one, under a condition naming the direction, not the value read. A concurrent writer that
moved it, but not past the new value, leaves the transaction valid; one that moved it past cancels it, and the
chunk re-reads and retries. (Conditioned on the value read, every commit of one customer's writer would cancel
the chunks all the others had read before it: with 16 writers, most of their transactions.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from functions.store.attributes import (
    AGGREGATE_COUNT,
    AGGREGATE_COUNT_BEFORE,
    AGGREGATE_LAST_AT,
    AGGREGATE_LAST_VALUE,
    AGGREGATE_MAX,
    AGGREGATE_MIN,
    AGGREGATE_SUM,
)
from functions.store.codec import decimal_attr, to_attr
from functions.store.partial import Partial


@dataclass(slots=True)
class StateUpdate:
    sets: list[str] = field(default_factory=list)
    adds: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    def expression(self) -> str:
        return " ".join(part for part in (f"SET {', '.join(self.sets)}" if self.sets else "",
                                          f"ADD {', '.join(self.adds)}" if self.adds else "") if part)


# The update's fixed parts, made once: this runs for every aggregate and bucket of every chunk.
_ADD_COUNT = f"{AGGREGATE_COUNT} :n"
_ADD_SUM = f"{AGGREGATE_SUM} :s"
_SET_MIN, _SET_MAX = f"{AGGREGATE_MIN} = :{AGGREGATE_MIN}", f"{AGGREGATE_MAX} = :{AGGREGATE_MAX}"
_MIN_VALUE, _MAX_VALUE = f":{AGGREGATE_MIN}", f":{AGGREGATE_MAX}"
_MIN_CONDITION = f"(attribute_not_exists({AGGREGATE_MIN}) OR {AGGREGATE_MIN} > :{AGGREGATE_MIN})"
_MAX_CONDITION = f"(attribute_not_exists({AGGREGATE_MAX}) OR {AGGREGATE_MAX} < :{AGGREGATE_MAX})"
_SET_LAST = [f"{AGGREGATE_LAST_VALUE} = :lv", f"{AGGREGATE_LAST_AT} = :lt"]
_LAST_CONDITION = f"(attribute_not_exists({AGGREGATE_LAST_AT}) OR {AGGREGATE_LAST_AT} <= :lt)"


def _number(value: Decimal) -> dict[str, str]:
    return {"N": format(value, "f")}


def state_update(part: Partial, prior: Partial | None, update: StateUpdate | None = None) -> StateUpdate:
    """Adds to `update` (a new one by default) what merging `part` into an item last read as `prior` takes."""
    update = update or StateUpdate()
    values = update.values
    if part.count:
        update.adds.append(_ADD_COUNT)
        values[":n"] = {"N": str(part.count)}
    if part.total:
        update.adds.append(_ADD_SUM)
        values[":s"] = _number(part.total)
    new = part.minimum
    if new is not None and (prior is None or prior.minimum is None or new < prior.minimum):
        update.sets.append(_SET_MIN)
        values[_MIN_VALUE] = _number(new)
        update.conditions.append(_MIN_CONDITION)
    new = part.maximum
    if new is not None and (prior is None or prior.maximum is None or new > prior.maximum):
        update.sets.append(_SET_MAX)
        values[_MAX_VALUE] = _number(new)
        update.conditions.append(_MAX_CONDITION)
    old_last = prior.last_at if prior else None
    if part.last_at is not None and (old_last is None or part.last_at >= old_last):
        update.sets += _SET_LAST
        values[":lv"] = to_attr(part.last_value)
        values[":lt"] = {"S": part.last_at}
        update.conditions.append(_LAST_CONDITION)
    return update


def int_attribute(item: dict[str, Any], name: str) -> int:
    return int(item[name]["N"]) if name in item else 0


def stored_partial(item: dict[str, Any]) -> Partial:
    """The state an item holds (a count is `cnt` plus the `n` of aggregates written before the alias map)."""
    return Partial(
        count=int_attribute(item, AGGREGATE_COUNT) + int_attribute(item, AGGREGATE_COUNT_BEFORE),
        total=decimal_attr(item.get(AGGREGATE_SUM)) or Decimal(0),
        minimum=decimal_attr(item.get(AGGREGATE_MIN)),
        maximum=decimal_attr(item.get(AGGREGATE_MAX)),
        last_value=decimal_attr(item.get(AGGREGATE_LAST_VALUE)),
        last_at=item.get(AGGREGATE_LAST_AT, {}).get("S"),
    )
