"""Announcing threshold crossings after ingest, exactly once per threshold and period."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from aws_lambda_powertools import Logger

from functions.adapters import eventbridge
from functions.common.clock import iso, utcnow
from functions.common.settings import settings
from functions.meters.aggregation import value_of
from functions.store import thresholds as store
from functions.store.aggregates import AggregateKey, StoredAggregate, read_merged
from functions.store.entities import BillingState, Meter
from functions.store.thresholds import Crossing
from functions.thresholds.rules import reached

DETAIL_TYPE = "customer_meter.threshold_crossed"
logger = Logger()


def check(org_id: str, keys: list[AggregateKey], meters: dict[str, Meter],
          state_of: Callable[[str, str], BillingState | None], *,
          read: Callable[[str, list[AggregateKey]], dict[AggregateKey, StoredAggregate]] = read_merged,
          claim: Callable[[str, Crossing], bool] = store.claim,
          announce: Callable[[Crossing], None] | None = None,
          clock: Callable[[], datetime] = utcnow) -> int:
    """Read the aggregates a committed chunk touched (only meters with thresholds) and announce new crossings:
    `claim` lets one writer per (customer, meter, period, threshold) through, which then `announce`s it."""
    announce = publish if announce is None else announce
    watched = [k for k in keys if k[1] in meters and meters[k[1]].thresholds]
    if not watched:
        return 0
    announced = 0
    for agg_key, aggregate in read(org_id, watched).items():
        customer_id, meter_id, period_key = agg_key
        meter = meters[meter_id]
        consumed = value_of(meter.aggregation["func"], aggregate.state, aggregate.unique_count)
        state = state_of(customer_id, meter_id)
        credits = state.credits if state else {}
        credited = Decimal(str(credits.get(meter_id, 0)))
        for threshold in meter.thresholds:
            if not reached(threshold, consumed, credited):
                continue
            crossing = Crossing(
                id=f"{customer_id}:{meter_id}:{period_key}:{threshold['id']}", organization_id=org_id,
                customer_id=customer_id, meter_id=meter_id, meter_name=meter.name, period_start=period_key,
                period_end=aggregate.period_end, threshold_id=threshold["id"], threshold=threshold,
                consumed_units=str(consumed), credited_units=str(credited), balance=str(credited - consumed),
                crossed_at=iso(clock()),
            )
            if claim(org_id, crossing):
                try:
                    announce(crossing)
                    announced += 1
                except Exception:
                    # The events are in; the pending marker is published by the next cycle-close run.
                    logger.exception("threshold signal not published yet", extra={"crossing": crossing.id})
    return announced


def publish(crossing: Crossing) -> None:
    eventbridge.publish(settings().event_bus_name, DETAIL_TYPE, [crossing.as_detail()])
    store.mark_sent(crossing.organization_id, crossing)


def publish_pending(older_than: timedelta = timedelta(minutes=1), has_time: Callable[[], bool] = lambda: True
                    ) -> int:
    """Crossings recorded but not announced (the announcing invocation died): announce them now, while
    `has_time()` (the rest in the next run)."""
    announced = 0
    for crossing in store.pending(iso(utcnow() - older_than)):
        if not has_time():
            break
        publish(crossing)
        announced += 1
    return announced
