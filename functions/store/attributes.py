"""The short attribute names of the hot items, in one place: each name means one thing in the whole table.

Events and aggregates are written on every ingest, so their attribute names are short (an attribute's name
counts toward the item's size, hence its write units). Every other item (customers, meters, products,
subscriptions, invoices, ...) uses the field names of its model as they are.

| name    | item      | meaning                                                      |
| ------- | --------- | ------------------------------------------------------------ |
| id      | event     | the event id (also the sort key)                             |
| c       | event     | customer id                                                  |
| n       | event     | event name                                                   |
| ts      | event     | timestamp (ISO 8601, UTC)                                    |
| ia      | event     | ingested at                                                  |
| p       | event     | period key (start of the period it counted in)               |
| ms      | event     | meter sequence: the meters version it was matched against    |
| x       | event     | external id (the idempotency key)                            |
| md      | event     | metadata                                                     |
| late    | event     | counted in the open period after its own had closed          |
| l       | event     | its customer's listing partition: "{customer id}#{shard}" (GSI2's key, with ts) |
| m       | aggregate | meter id                                                     |
| ps, pe  | aggregate | period start (its key) and end                               |
| ver     | aggregate | version: +1 on every write (the cycle close is guarded by it) |
| cnt     | aggregate | events counted                                               |
| s       | aggregate | sum                                                          |
| mn, mx  | aggregate | minimum, maximum                                             |
| lv, lt  | aggregate | last value, and its order key ("{timestamp}#{event id}")     |
| u       | aggregate | distinct values (markers written)                            |
| late_n  | aggregate | late events counted                                          |
| bn, bs  | aggregate | what backfills added: count and sum                          |
| closed  | aggregate | the period is invoiced                                       |

`cnt` was `n` (the event's name) before this map existed. A count is read as `cnt` plus any `n`
(`AGGREGATE_COUNT_BEFORE`), and updates add to `cnt` only, so aggregates written before the rename keep their
counts; a backfill's put writes `cnt` alone.
"""

from __future__ import annotations

EVENT_CUSTOMER = "c"
EVENT_NAME = "n"
EVENT_TIMESTAMP = "ts"
EVENT_LISTING = "l"
EVENT_INGESTED_AT = "ia"
EVENT_PERIOD = "p"
EVENT_METER_SEQ = "ms"
EVENT_EXTERNAL_ID = "x"
EVENT_METADATA = "md"
EVENT_LATE = "late"
EVENT_METER_PERIODS = "mp"  # meter id -> period key, for the meters counted in another period than `p`

AGGREGATE_METER = "m"
AGGREGATE_PERIOD_START = "ps"
AGGREGATE_PERIOD_END = "pe"
AGGREGATE_VERSION = "ver"
AGGREGATE_COUNT = "cnt"
AGGREGATE_COUNT_BEFORE = "n"
AGGREGATE_SUM = "s"
AGGREGATE_MIN = "mn"
AGGREGATE_MAX = "mx"
AGGREGATE_LAST_VALUE = "lv"
AGGREGATE_LAST_AT = "lt"
AGGREGATE_UNIQUE = "u"
AGGREGATE_LATE = "late_n"
AGGREGATE_BACKFILLED_COUNT = "bn"
AGGREGATE_BACKFILLED_SUM = "bs"
AGGREGATE_CLOSED = "closed"
