"""Splitting an ingest request into transactions of at most 100 actions, and what each one writes. Pure.

Each event costs one action (its put); each distinct (customer, meter, period) aggregate in the chunk costs
one (its update, pre-aggregated over the chunk), and so does each distinct quantity bucket (customer, meter,
hour or day); each distinct unique value costs one (its marker put).

One pass over the events plans the chunks and adds each event's values into them: an event is added once, to
one (customer, meter, period, hour) cell per meter; a chunk's aggregate, hour and day updates are merged from
its cells when it is done. Events in time order within a customer mostly share the cells of the event before
them (same customer, hour, periods and meters): such an event costs one action and is added without a key
being built. This runs once per ingested event, inside the 20 us an event the ingest may spend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from functions.common.clock import iso
from functions.meters.aggregation import Partial, exactly
from functions.meters.matching import CompiledMeter
from functions.meters.periods import Period
from functions.store.aggregates import AggregateDelta, AggregateKey
from functions.store.buckets import DAY, HOUR, BucketDelta, BucketKey
from functions.store.events import EventRecord

MAX_ACTIONS = 100


@dataclass(slots=True)
class PreparedEvent(EventRecord):
    """An event as it will be stored (`timestamp` its ISO form), with what it adds to each meter it matches. The
    chunk it is written in sets its period fields (`period_key`, `late`, `meter_periods`), again on a retry."""

    matched: tuple[CompiledMeter, ...] = ()  # the meters it adds to (matching.matched_meters)
    values: list[Any] = field(default_factory=list)  # what it adds to each (matching.contributions)
    meters: int = 0  # their bits (CompiledMeter.bit)


# An event's own period and lateness, and per contribution the period and lateness its meter counts it in
# (None: every meter counts it in the event's own period, not late).
Routed = tuple[tuple[Period, bool], list[tuple[Period, bool]] | None]


@dataclass(slots=True)
class Chunk:
    """One transaction's events and the updates they add up to, for aggregate shard `shard`."""

    events: list[PreparedEvent]
    deltas: list[AggregateDelta]
    buckets: list[BucketDelta]
    shard: int


@dataclass(slots=True)
class _Builder:
    shard: int
    events: list[PreparedEvent] = field(default_factory=list)
    aggregates: dict[AggregateKey, AggregateDelta] = field(default_factory=dict)
    # (customer, meter, period key, hour) -> what the chunk's events add (unique meters: the aggregate's own).
    cells: dict[tuple[str, str, str, str], Partial] = field(default_factory=dict)
    hours: set[tuple[str, str, str]] = field(default_factory=set)
    days: set[tuple[str, str, str]] = field(default_factory=set)
    markers: set[tuple[AggregateKey, str]] = field(default_factory=set)
    # The event before, when it took the common path (its own period for every meter, not late): its
    # customer, hour, own period and meters; the states its values went to, how they are added, and its unique
    # meters' aggregates (position in its values, aggregate key).
    last_customer: str | None = None
    last_hour: str = ""
    last_period: Period | None = None
    last_meters: int = -1
    targets: list[Partial] = field(default_factory=list)
    adders: tuple[Callable[[Partial, Any], None], ...] = ()  # its meters' (CompiledMeter.add)
    unique_keys: list[tuple[int, AggregateKey]] = field(default_factory=list)

    def actions(self) -> int:
        return len(self.events) + len(self.aggregates) + len(self.hours) + len(self.days) + len(self.markers)

    def add(self, event: PreparedEvent, routed: Routed, limit: int) -> bool:
        """Adds the event unless that would take the chunk past `limit` actions (a chunk takes its first event
        whatever it costs)."""
        (own, own_late), periods = routed
        hour = event.timestamp[:13]
        common = periods is None and not own_late
        if (common and own is self.last_period and event.meters == self.last_meters
                and hour == self.last_hour and event.customer_id == self.last_customer):
            # The event before's cells: nothing new but the event and its new unique values. (A loop, not a
            # comprehension, which is a call of its own in Python 3.11.)
            new_markers = []
            for position, key in self.unique_keys:
                marker = (key, event.values[position])
                if marker not in self.markers:
                    new_markers.append(marker)
            if self.events and self.actions() + 1 + len(new_markers) > limit:
                return False
            if new_markers:
                self.markers.update(new_markers)
            for add, value, target in zip(self.adders, event.values, self.targets, strict=True):
                add(target, value)
            event.period_key, event.late, event.meter_periods = own.key, False, None
            self.events.append(event)
            return True
        found = self._targets(event, hour, own, own_late, periods, limit)
        if found is None:
            return False
        targets, self.unique_keys = found
        adders = tuple(meter.add for meter in event.matched)
        for add, value, target in zip(adders, event.values, targets, strict=True):
            add(target, value)
        meter_periods = None
        late = own_late
        if periods is not None:
            for meter, (period, meter_late) in zip(event.matched, periods, strict=True):
                if period.key != own.key:  # recorded on the event, for the audit and the backfill
                    meter_periods = meter_periods or {}
                    meter_periods[meter.id] = period.key
                    late = late or meter_late
        event.period_key, event.late, event.meter_periods = own.key, late, meter_periods
        self.events.append(event)
        self.targets, self.adders = targets, adders
        if common:
            self.last_customer, self.last_hour, self.last_period, self.last_meters = (
                event.customer_id, hour, own, event.meters)
        else:
            self.last_period = None
        return True

    def _targets(self, event: PreparedEvent, hour: str, own: Period, own_late: bool,
                 periods: list[tuple[Period, bool]] | None, limit: int
                 ) -> tuple[list[Partial], list[tuple[int, AggregateKey]]] | None:
        """The states the event's values go to, created where new, and its unique meters' aggregates; None
        (nothing created) if the event's new items would take the chunk past `limit`."""
        customer = event.customer_id
        routes = periods or [(own, own_late)] * len(event.matched)
        new: set[tuple[Any, ...]] = set()
        for meter, value, (period, _) in zip(event.matched, event.values, routes, strict=True):
            key = (customer, meter.id, period.key)
            if key not in self.aggregates:
                new.add(key)
            if meter.func == "unique":
                if (key, value) not in self.markers:
                    new.add((key, value))
            else:
                for grain, start, seen in ((HOUR, hour, self.hours), (DAY, hour[:10], self.days)):
                    if (customer, meter.id, start) not in seen:
                        new.add((customer, meter.id, grain, start))
        if self.events and self.actions() + 1 + len(new) > limit:
            return None
        targets: list[Partial] = []
        unique_keys: list[tuple[int, AggregateKey]] = []
        for position, (meter, value, (period, meter_late)) in enumerate(
                zip(event.matched, event.values, routes, strict=True)):
            key = (customer, meter.id, period.key)
            delta = self.aggregates.get(key)
            if delta is None:
                delta = self.aggregates[key] = AggregateDelta(key=key, period_end=iso(period.end), partial=Partial(),
                                                              prior=None, shard=self.shard)
            delta.late_count += meter_late
            # A unique meter has no buckets: its quantities are counted from the events (distinct values do not
            # add up across buckets); its values are the aggregate's, each a marker put.
            if meter.func == "unique":
                self.markers.add((key, value))
                unique_keys.append((position, key))
                targets.append(delta.partial)
                continue
            self.hours.add((customer, meter.id, hour))
            self.days.add((customer, meter.id, hour[:10]))
            cell = self.cells.get((*key, hour))
            if cell is None:
                cell = self.cells[(*key, hour)] = Partial()
            targets.append(cell)
        return targets, unique_keys

    def finish(self) -> Chunk:
        """The aggregate updates and the hour buckets from the cells, a day's bucket from its hours'."""
        hours: dict[BucketKey, Partial] = {}
        for (customer, meter_id, period_key, hour), cell in self.cells.items():
            self.aggregates[(customer, meter_id, period_key)].partial.merge(cell)
            hours.setdefault((customer, meter_id, HOUR, hour, self.shard), Partial()).merge(cell)
        days: dict[BucketKey, Partial] = {}
        for (customer, meter_id, _, hour, _), state in hours.items():
            days.setdefault((customer, meter_id, DAY, hour[:10], self.shard), Partial()).merge(state)
        return Chunk(self.events, list(self.aggregates.values()),
                     [BucketDelta(k, p) for k, p in (*hours.items(), *days.items())], self.shard)


def build_chunks(events: Iterable[PreparedEvent], route: Callable[[PreparedEvent], Routed], shard: int = 0,
                 limit: int = MAX_ACTIONS) -> list[Chunk]:
    """The events in transactions of at most `limit` actions, in their order, each with what it writes to
    aggregate shard `shard`. Raises NotExact for a sum DynamoDB could not store exactly."""
    chunks: list[Chunk] = []
    builder = _Builder(shard)
    with exactly():
        for event in events:
            routed = route(event)
            if not builder.add(event, routed, limit):
                chunks.append(builder.finish())
                builder = _Builder(shard)
                builder.add(event, routed, limit)
    if builder.events:
        chunks.append(builder.finish())
    return chunks
