"""`make bench`: run every benchmark against a private DynamoDB Local and rewrite docs/performance.md."""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.harness import local_aws

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("ingest", "customer_meter_read", "customer_meter_history", "cycle_close", "bulk", "sdk", "cold_start", "conflicts")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--read-events", type=int, default=1_000_000, help="events stored for the large read")
    parser.add_argument("--subscriptions", type=int, default=20_000,
                        help="subscriptions for the cycle close (and a tenth of it, to compare)")
    parser.add_argument("--bulk-lines", type=int, default=1_000_000, help="lines of the bulk file")
    parser.add_argument("--only", nargs="*", choices=SECTIONS, help="run these, keep the others' last results")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "performance.md")
    parser.add_argument("--render", action="store_true", help="only rewrite the report from results.json")
    args = parser.parse_args()
    results_path = ROOT / "benchmarks" / "results.json"
    raw = json.loads(results_path.read_text()) if results_path.exists() else {}
    if args.render:
        args.output.write_text(render(raw))
        return
    with local_aws() as aws:
        from benchmarks import bulk, cold_start, conflicts, customer_meters, cycle_close, ingest, sdk

        runners = {
            "ingest": ingest.run,
            "customer_meter_read": lambda: {str(k): v for k, v in customer_meters.run(args.read_events).items()},
            "customer_meter_history": customer_meters.history_run,
            "cycle_close": lambda: cycle_close.run(args.subscriptions, aws),
            "bulk": lambda: bulk.run(args.bulk_lines),
            "sdk": lambda: sdk.run(aws),
            "cold_start": cold_start.run,
            "conflicts": lambda: conflicts.run(aws),
        }
        for section in args.only or SECTIONS:
            raw[section] = runners[section]()
            raw[section]["measured_on"] = datetime.now(UTC).strftime("%Y-%m-%d")
            results_path.write_text(json.dumps(raw, indent=2, default=str))
    args.output.write_text(render(raw))
    print(args.output.read_text())


def cpu_breakdown(ingest: dict) -> str:
    breakdown = ingest.get("cpu_breakdown_us_per_event")
    if not breakdown:
        return "The breakdown was not measured in this run."
    rows = "\n".join(f"| {label} | {us:.1f} |" for label, us in breakdown.items())
    return (f"Measured by the ingest benchmark ({ingest['measured_on']}): the same 1,000-event requests again, each "
            f"step's thread CPU less its time inside botocore, per event (per step the median of the runs; their sum "
            f"{sum(breakdown.values()):.1f} us).\n\n| step | us/event |\n| --- | --- |\n{rows}")


def first_page_row(read: dict, large: int) -> str:
    small, big = read["1000"].get("first_page"), read[str(large)].get("first_page")
    if not small or not big:
        return "| first page of a customer's events, 10^3 vs 10^6 stored events | time ratio <= 1.5 | not run | |"
    return (f"| first page of a customer's events (`limit=10`), 10^3 vs {large:,} stored events | time ratio <= 1.5 | "
            f"{small['requests']} vs {big['requests']} requests, median {small['median_ms']:.2f} vs "
            f"{big['median_ms']:.2f} ms: ratio {read['first_page_ratio']:.2f} | {verdict(read['first_page_ratio'] <= 1.5)} |")


def quantities_row(read: dict, large: int) -> str:
    small, big = read["1000"].get("quantities"), read[str(large)].get("quantities")
    if not small or not big:
        return "| quantities read (day interval, 31 days), 10^3 vs 10^6 stored events | time ratio <= 1.5 | not run | |"
    return (f"| quantities read of one customer's sum meter (`interval=day`, 31 days), 10^3 vs {large:,} stored events "
            f"| time ratio <= 1.5 | {small['requests']} vs {big['requests']} requests, median {small['median_ms']:.2f} vs "
            f"{big['median_ms']:.2f} ms: ratio {read['quantities_ratio']:.2f} | {verdict(read['quantities_ratio'] <= 1.5)} |")


def history_row(history: dict | None) -> str:
    if not history:
        return "| customer-meter read, new customer vs 36 closed periods x 10 meters | read units and time ratio <= 1.2 | not run | |"
    new, old = history["new-customer"], history["old-customer"]
    ok = history["read_unit_ratio"] <= 1.2 and history["time_ratio"] <= 1.2
    return (f"| customer-meter read, new customer vs {history['closed_items']} closed aggregates (36 periods x 10 "
            f"meters) | read units and time ratio <= 1.2 | {new['read_units']:.1f} vs {old['read_units']:.1f} read "
            f"units, median {new['median_ms']:.2f} vs {old['median_ms']:.2f} ms: ratios {history['read_unit_ratio']:.2f}"
            f" and {history['time_ratio']:.2f} | {verdict(ok)} |")


def close_rows(close: dict) -> str:
    if "cases" not in close:
        return "| cycle close | fanned out | not measured since the fan-out |"
    small, large = close["cases"][0], close["cases"][-1]
    ratio = large["close_requests_per_subscription"] / small["close_requests_per_subscription"]
    return (f"| cycle close: DynamoDB requests per subscription | <= 5 | {close['requests_per_subscription']:.3f} "
            f"(scheduled run and close workers, {large['subscriptions']:,} subscriptions; the invoice publisher adds "
            f"{large['requests_per_subscription']['invoice_publisher']:.2f}, off the close path) | "
            f"{verdict(close['requests_per_subscription'] <= 5.01)} |\n"
            f"| cycle close: 100,000 due subscriptions within Lambda limits, fanned out | fanned out | "
            f"{small['subscriptions']:,} and {large['subscriptions']:,} closed through the local runtime, {large['left_due']} left due, "
            f"{large['left_unpublished']} unpublished; requests per subscription {small['close_requests_per_subscription']:.3f} "
            f"and {large['close_requests_per_subscription']:.3f} (ratio {ratio:.2f}); 100,000 take "
            f"{close['scheduled_invocations_at_100000']:.0f} scheduled invocation(s) at this machine's queueing rate | "
            f"{verdict(large['left_due'] == 0 and ratio <= 1.1) if large['subscriptions'] >= 20_000 else 'constant per subscription; **not measured at 20,000**'} |")


def close_method(close: dict) -> str:
    if "cases" not in close:
        return "not measured since the fan-out."
    rows = "\n".join(
        f"| {c['subscriptions']:,} | {c['setup_seconds']:.0f} | {c['first_run_seconds']:.1f} | {c['closed_seconds']:.0f} "
        f"| {c['published_seconds']:.0f} | {c['closed_per_second']:.1f} | {c['handovers']} | {c['worker_invocations']:,} "
        f"| {c['requests_per_subscription']['cycle_close']:.3f} | {c['requests_per_subscription']['close_worker']:.3f} "
        f"| {c['requests_per_subscription']['invoice_publisher']:.3f} | {c['left_due']} |"
        for c in close["cases"])
    large = close["cases"][-1]
    return f"""monthly subscriptions on a metered price (every tenth customer with usage), over
  {close.get('organizations', 4)} organizations, are created through the billing service; then the real cycle-close function is invoked once
  through the local Lambda runtime, as the schedule does, and the close workers and the invoice publisher run
  from their SQS queues (pollers as many as each mapping's maximum concurrency, capped at 8 local environments;
  on 2 cores), every AWS call through the edge under each function's own role. Requests are counted at the
  edge per function. Two sizes, to show the figures per subscription constant:

| subscriptions | setup s | scheduled run s | every function idle s | queues drained s | closed and published/s | hand-overs | worker invocations | run req/sub | worker req/sub | publisher req/sub | left due |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
{rows}

  DynamoDB requests of the larger size by function: {large['dynamodb_requests']}. Per subscription a worker
  reads it with its customer (one BatchGetItem), queries its open aggregates and writes the close transaction
  (with the renewal's announcement); products, tax rates, meters, sellers and invoice counters are read once per
  worker environment a minute (a counter another environment moved since costs a retry: the transactions above
  the number of subscriptions), the announcements marked published 25 to a batch write; the publisher reads the
  invoice and marks it published (2 requests, off the close path). The close queue is FIFO by organization,
  so no two closes of an organization contend for its invoice counter (with a standard queue and 8 workers on 4
  organizations: 8.8 requests a subscription, most of them re-reads after cancelled transactions). The scheduled
  run only reads the due index and sends 10 to a SendMessageBatch: locally {large['first_run_seconds']:.0f} s for
  {large['subscriptions']:,} while the workers shared the 2 cores, that is {close['queue_seconds_at_100000']:.0f} s
  for 100,000 ({close['scheduled_invocations_at_100000']:.0f} invocation(s) of at most 14 minutes, handing over
  by a cursor); in AWS a SendMessageBatch takes tens of milliseconds, 10,000 of them a few minutes. The bus's
  rules have no targets here (`detach_bus_targets` in benchmarks/harness.py). Until local_stack/moto_sqs.py,
  moto's SQS counted every message of a queue on each send and receive, and two deletes at once could put each
  other's messages back in flight: 5,000 closed at 4.0 a second (2026-12-07, earlier), and a 20,000 run was
  stopped after 33 minutes. The rates here are this machine's, with the workers, the publisher, DynamoDB Local
  and moto sharing 2 cores; AWS's are not read off them."""


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def render(raw: dict) -> str:
    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True,
                         text=True).stdout.strip()
    ingest, read, close, bulk = raw["ingest"], raw["customer_meter_read"], raw["cycle_close"], raw.get("bulk")
    sdk = raw.get("sdk")
    sdk_row = (f"{sdk['track_us_per_event']:.2f} us/event (runs: {', '.join(str(x) for x in sdk['track_runs_us'])}); "
               f"end to end {sdk['flush_events_per_second']:,.0f} events/s | {verdict(sdk['track_us_per_event'] <= 5)}"
               ) if sdk else "not measured |"
    hot = {case["writers"]: case for case in raw.get("conflicts", {}).get("cases", [])}
    hot_row = (f"{hot[16]['responses_409']} requests refused (409), meters exact: {hot[16]['meters_exact']}; "
               f"{hot[16]['cancelled_per_1000_events']:.1f} transactions cancelled and retried per 1,000 events | "
               f"{verdict(hot[16]['responses_409'] == 0 and hot[16]['meters_exact'])}") if 16 in hot else "not measured |"
    hot_rows = "\n".join(
        f"| {c['writers']} | {c['events']:,} | {c['cancelled_per_1000_events']:.2f} "
        f"| {c.get('refused_upstream_per_1000_events', 0):.2f} | {c['refused_per_1000_events']:.2f} "
        f"| {c['responses_409']} | {c['other_errors']} | {c['meters_exact']} | {c['events_per_second']:,.0f} |"
        for c in hot.values())
    unsharded = {case["writers"]: case for case in raw.get("conflicts_before_shards", {}).get("cases", [])}
    before_after_rows = "\n".join(
        f"| {w} | {unsharded[w]['cancelled_per_1000_events']:.2f} / {c['cancelled_per_1000_events']:.2f} "
        f"| {unsharded[w]['responses_409']} / {c['responses_409']} "
        f"| {unsharded[w]['events_per_second']:,.0f} / {c['events_per_second']:,.0f} "
        f"| {unsharded[w]['meters_exact']} / {c['meters_exact']} |"
        for w, c in hot.items() if w in unsharded)
    before_date = raw.get("conflicts_before_shards", {}).get("measured_on", "not measured")
    after_date = raw.get("conflicts", {}).get("measured_on", "not measured")
    sizes = sorted(int(k) for k in read if k.isdigit())
    large = sizes[-1]
    small, big = read["1000"], read[str(large)]
    bulk_row = (f"{bulk['max_rss_mb']:.0f} MB peak RSS, {bulk['events_per_second']:,.0f} events/s "
                f"({bulk['lines']:,} lines, {bulk['gzip_bytes'] / 1e6:.1f} MB gzip, {bulk['invocations']} invocation(s))"
                f" | {verdict(bulk['max_rss_mb'] <= 256)}") if bulk else "not measured |"

    return f"""# Performance

Measured by `make bench` (benchmarks/run_all.py; each section's date is in results.json), {platform.python_implementation()}
{platform.python_version()}, {cpu or platform.machine()}, 2 cores, against DynamoDB Local (AWS's engine, in
memory) on the same machine. Targets are DESIGN.md section 10. Raw numbers: benchmarks/results.json.

| what | target | measured | |
| --- | --- | --- | --- |
| ingest handler CPU, 1,000-event request, 5 meters, DynamoDB excluded | <= 20 us/event | {ingest['cpu_us_per_event']:.1f} us/event (runs: {', '.join(str(x) for x in ingest['cpu_us_per_event_runs'])}) | {verdict(ingest['cpu_us_per_event'] <= 20)} |
| write units per event (1 KB events, 1,000-event request, one customer, 3 meters) | <= 2.1 | {ingest['write_units_per_event']:.3f} (event item {ingest['event_item_bytes']} bytes) | {verdict(ingest['write_units_per_event'] <= 2.1)} |
| write requests per 1,000 events (same) | <= 12 | {ingest['write_requests_per_1000']} | {verdict(ingest['write_requests_per_1000'] <= 12)} |
| customer-meter read, 10^3 stored events | 1 query | {small['requests']} request, median {small['median_ms']:.2f} ms, p95 {small['p95_ms']:.2f} ms | {verdict(small['requests'] == 1)} |
| customer-meter read, {large:,} stored events | 1 query; time ratio <= 1.2 | {big['requests']} request, median {big['median_ms']:.2f} ms, p95 {big['p95_ms']:.2f} ms; ratio {read['ratio']:.2f} | {verdict(big['requests'] == 1 and read['ratio'] <= 1.2)} |
{first_page_row(read, large)}
{quantities_row(read, large)}
{history_row(raw.get("customer_meter_history"))}
{close_rows(close)}
| bulk file of 1,000,000 lines (gzip NDJSON): peak memory | <= 256 MB, streamed | {bulk_row} |
| SDK: caller-thread cost per event | <= 5 us | {sdk_row} |
{cold_start_row(raw.get("cold_start"))}
| one customer, 16 concurrent writers, local conflict rule on | 0 requests refused; meters exact | {hot_row} |

## This run beside the last (2026-12-03 against 2026-11-24/25)

Two things changed at once, and neither is the code's doing alone. The machine: this run is on an Intel Xeon
where the last was on an AMD EPYC (the ingest's CPU per event measured 56 us here against 43 there, with the
ingest's code nearly unchanged; the cold start half of what it was). The ingest's number above is after one cut
made since: Powertools formats the route's arguments into a debug message on every request whatever the log
level, and pydantic's repr of the 1,000 validated events cost 12 us an event; the request model now prints as
`EventsIngest(1000 events)` (56 -> 45.5 us, measured one after the other). And the local AWS edge: its replies went out as two writes
(headers, then body) without TCP_NODELAY, so on a kernel that delays ACKs each DynamoDB call through it waited
~40 ms (50 ms instead of 3 measured here); it sends with TCP_NODELAY now. The benchmarks that run handlers
in-process reach DynamoDB Local through the edge, so on this machine the earlier code is slow for that reason
only: with the edge fix applied to the last run's commit (1afa97a), 2,000 subscriptions close at 35.0/s, and
at this run's code at 35.2/s (setup 33.8 s and 33.7 s), one after the other on this machine; the 37/s below against
the last 58/s is the machine. The hot-customer numbers moved for the edge's reason: a transaction is in flight
for ~3 ms instead of ~50, so fewer overlap (no 409s at 16 writers, 17 cancelled per 1,000 events instead of
67); that is nearer real DynamoDB's own latency, which is what the conflict rule models. The cold-start target
is met on this machine and was not on the last: it depends on the hardware it is measured on.

## One hot customer under DynamoDB's transaction-conflict rule

1,000-event batches for one customer (5 meters: count, sum, min, max, last), sent by 1, 4 and 16 concurrent
writers through the gateway and the local Lambda runtime (one execution environment per concurrent request, up to
16), with the local edge cancelling a transaction that touches an item another in-flight transaction writes, as
DynamoDB does. A cancelled transaction is re-read and retried by the ingest with full-jitter exponential backoff
for as long as the invocation has time (3 s kept for the answer); a request out of time is a 409 (the writer
sends it again: batches are idempotent). "Meters exact" compares count, sum, min and max with the events sent.
Each aggregate and bucket is spread over 4 shard items that writers move between when they collide
(docs/data-model.md, "One hot customer").

| writers | events | transactions cancelled by the conflict rule per 1,000 events | refused on a condition per 1,000 | single writes refused per 1,000 | 409s | other errors | meters exact | events/s |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
{hot_rows}

Before and after the shards: "before" is the last run with one item per aggregate ({before_date}, the same
benchmark), "after" the run above (measured {after_date}, with the ingest's code of that day). The machine is shared, so events/s compare loosely; the cancellations per
1,000 events are the conflict rule's count.

| writers | cancelled per 1,000 events, before / after | 409s before / after | events/s before / after | meters exact before / after |
| --- | --- | --- | --- | --- |
{before_after_rows}

Four writers spread over the four shards and nearly stop colliding. Sixteen are still four to a shard, and a
writer that collides moves again at random, so they never settle one per shard. With the shards alone (run of
2026-12-04) 16 writers still had 12.31 cancellations per 1,000 events, about as many as without; the run above
(2026-12-08) has 4.56. Between the two, a request's later transactions stopped reading before they write
(`KnownItems`, functions/events/service.py), so each holds its items after a shorter gap; that this is the
cause is a reading, not a measurement. No 409s either way. More shards is what 16 writers need; the cycle close closes every
shard of every priced meter in one transaction (4 x 20 prices = 80 of its 100 actions), so more than 4 takes
closing them in several transactions first (docs/capacity.md).

## How each number is taken

- **Ingest CPU**: the real ingest Lambda handler is called with an API Gateway v2 event holding 1,000 events
  matched against 5 meters (count, sum, max, avg, unique). The handler thread's CPU time is measured with
  `time.thread_time()`, and the CPU time spent inside botocore calls (serialization, HTTP, parsing) is
  subtracted: "DynamoDB excluded". The request body is built outside the timed region. Median of 15 runs;
  the breakdown times the same steps in 15 more requests, per step the median.
- **Write units**: DynamoDB Local does not report capacity for transactions, so the harness applies DynamoDB's
  published rule to every action the store sends: 2 units per started KB of each transactional write (events
  are ~1 KB items, aggregates ~0.3 KB). Events of {ingest['event_item_bytes']} bytes as stored.
- **Write requests**: counted from the requests the store sends (`functions/store/dynamo.py` counts each).
  Reads of the same request: {ingest['all_requests_per_1000']}.
- **Cycle close**: {close_method(close)}
- **Bulk file**: a gzip NDJSON file (100 customers, one meter) is put in moto's S3; the real bulk handler runs
  in a child process (moto keeps the object in the parent's memory), re-invoked while it reports
  `incomplete`; peak memory is the child's `VmHWM` (`ru_maxrss` is not used: on Linux it keeps the size of
  the forked parent across exec). The rate is DynamoDB Local's on this machine more than the handler's: on
  2026-12-08, 100,000 lines ran at 1,413 events/s with the code of the day before and 1,472 with the day's
  (one after the other); the 1,000,000 above took 662 s of the invocation's 900. Later that day, after the
  ingest's CPU went from 33 to 18.5 us an event, 100,000 lines ran at 1,497 events/s against 1,498 with the code
  before (df95bfa), peak 69 and 68 MB: the bulk rate is DynamoDB Local's.
- **SDK**: `IngestionBuffer.track()` timed on the caller's thread over 5 rounds of 40,000 events with the
  worker parked (median per event); then 20,000 events flushed to the local stack over real HTTP in batches
  of 1,000 (end-to-end rate, DynamoDB Local included).
- **Customer-meter read**: {large:,} events are ingested for one customer through the real ingest handler
  (load took {read['load_seconds']:.0f} s), then `customer_meters()` (the code behind
  `GET /v1/customer-meters/` and the customer state) is called 300 times.
- **Customer-meter read against a customer's age**: 10 meters; a new customer and an old one each get one
  event per meter in the open month through the ingest handler; the old one also has 36 past months x 10 meters
  of aggregates, each written and then closed by the store functions the backfill and the cycle close use.
  Read units are DynamoDB's rule applied to the items each query returned (1 per 4 KB started, strongly
  consistent). The read asks for the open periods only (aggregates sort by period, `SK BETWEEN`): with every
  aggregate read, as before, the same run measured 26 read units and a time ratio of 11.7.

## Where the ingest CPU goes, and what is left to do

{cpu_breakdown(ingest)}

"The rest" also holds what a request costs whatever its size: a 1-event request takes 1.5-1.7 ms of the
handler's CPU (Powertools, authentication, the meters' read and compilation, the reads before the first chunk,
logs, metrics), 1.5-1.7 us an event of a 1,000-event one; and freeing a request's events, puts and chunks
(about 1.7 us an event).

Measured on 2026-12-07/08, on this machine (AMD EPYC, 2 vCPUs), by this benchmark (the median of 5 requests for
the first three rows, of 15 for the others; rows from 2026-12-08 on are medians of 15 taken one after the other
while the work went on, so they compare loosely: this machine's noise comes in bursts of 10-30%):

| change | us/event |
| --- | --- |
| before: a `Partial` per event and meter, merged three times; chunks planned, then built, then encoded | 53.8 |
| one pass plans the chunks and adds each event's values (a value per meter, not a state); meters sharing a filter test it once; an event sharing its cells with the event before builds no key | 45.5 |
| event items share their repeated string attributes within a chunk; the event rules run once over the request, not as three pydantic validators an event; event ids hash prebuilt namespace bytes | 34.5 |
| later chunks of a request reuse what earlier ones read and committed (`KnownItems`): 4 BatchGetItem per 1,000 events instead of 24 (the write-units run: one customer, 3 meters), about 1.5 us (interleaved runs) | 33.7 |
| a prepared event is the record it is stored as; each meter's getter unpacked once per request; no conversion of a timestamp already in UTC; each customer's listing partitions and the meter sequence shared by its items | 32.5 (33.1 when rerun at the start of 2026-12-08) |
| (5d73abd) an event is a validated dict (`EventCreate` a TypedDict), not a model; its timestamp a string the rules leave in canonical form, so a client's canonical timestamp is kept rather than parsed and formatted again (formatting one cost 1.5 us); event ids formatted from the hex digest; floats checked and made exact by exact type first | about 26.7 |
| (19765fe) the collector paused for the request (about 1 us in alternating requests); every chunk's event puts encoded right after planning, while the events are still in the cache (about 1.3 us in alternating requests); a customer's next event in the same open period routed without a lookup | 26.1 |
| (0bb808f) the body reaches validation as raw JSON, which pydantic parses and validates in one pass (`parsed_by_pydantic`): no `json.loads` tree walked and copied | 22.1 |
| (6193eff-445df8f) metadata stored as its JSON text (one string, not a map with a typed value per key: 24 -> 17 memory blocks per event put); a prepared event holds its values and one shared tuple of its meters, not a pair per meter (13 -> 8 blocks); meters reading one key share its value | 19.7 |
| (7e85113-8c8e4b1) the meters read the validated event itself unless one reads its timestamp; no parsed time kept per event; updates built from fixed parts (4.8 -> 3.0 us a bucket update); an event on the previous event's cells takes a path of its own, with no comprehension (a call of its own in Python 3.11); partition keys made once per environment; no `typing.cast` call per event | **18.5 (15 runs, 17.2-19.5)** |

What made the difference was fewer objects per event, not faster steps: an event is now about 33 memory blocks
on its way in and out (8 for the validated body, 7 prepared, 1 in its chunk, 17 for its put; counted with
`sys.getallocatedblocks`), against 46 at 5d73abd (a model per event held more before it), and each block is written once and freed once, in memory the previous transaction's botocore calls have
pushed out of the cache. The same code costs 12.4 us an event with the steps run back to back without DynamoDB
(validation 3.0, preparing 3.9, chunks 2.7, puts 2.2, updates 0.6): the rest is the request's fixed cost and
the cache misses between transactions.

Tried and left out, each measured against the code without it:

- one list comprehension per meter group reading each metadata key once, then placing the values: slower
  (contributions 1.7 -> 2.4 us an event), a comprehension being a call of its own in Python 3.11;
- freeing each chunk's events and puts as soon as it is written rather than at the end of the request: no
  difference in alternating requests (22.9 and 23.0 in a noisy hour);
- the DynamoDB Local process pinned to the other core: slower, not faster (the edge's threads then share the
  handler's);
- checking a float's decimal places with `round(x, 12) == x` rather than its shortest form: 80 ns faster and in
  agreement on 2,000,000 floats, but not proven equal to the rule: not taken.

The benchmark runs the handler under the virtualenv's Python 3.11; the Lambda runs 3.12. The same steps
without DynamoDB (validation, preparing, chunks, puts, updates; 1,000 events, the layer's libraries) took 13.6 us
an event under 3.12.1 against 12.4 under 3.11.7 (three runs each, alternating, 2026-12-08). This benchmark itself,
run from a Python 3.12.1 virtualenv with the same pinned packages, alternating with the usual one: 21.0 and 19.9
us an event under 3.12.1, 18.7 and 17.6 under 3.11.7 (medians of 15, 2026-12-08 03:05-03:10 UTC). **The target
is met under the benchmark's Python 3.11, with 1.5-2.5 us to spare, and not reliably under 3.12.1**, which is
about 12% slower on this code: the Lambda's runtime (a later 3.12) needs about 1.5 us an event more taken off to
be sure of it.
""" + cold_start_section(raw.get("cold_start"))


def cold_start_row(cold: dict | None) -> str:
    if not cold:
        return "| handler cold start (import under python3.12 with the built asset and layer) | <= 300 ms each | not measured | |"
    handlers = cold["handlers"]
    worst = max(h["median_ms"] for h in handlers.values())
    measured = ", ".join(f"{name} {h['median_ms']:.0f}" for name, h in handlers.items())
    return (f"| handler cold start (import under python3.12 with the built asset and layer) | <= {cold['target_ms']} ms each "
            f"| {measured} ms (median of {cold['runs']} fresh processes; details below) | {verdict(worst <= cold['target_ms'])} |")


def cold_start_section(cold: dict | None) -> str:
    if not cold:
        return ""
    def row(name: str, h: dict) -> str:
        runs = ", ".join(f"{x:.0f}" for x in h["runs_ms"])
        heaviest = ", ".join(f"{x['package']} {x['ms']:.0f}" for x in h["heaviest"][:5])
        return f"| {name} | {h['median_ms']:.0f} ms | {h['median_cpu_ms']:.0f} ms | {runs} | {heaviest} |"

    rows = "\n".join(row(name, h) for name, h in cold["handlers"].items())
    return f"""
## Cold start

Measured by `benchmarks/cold_start.py` ({cold['measured_on']}): each handler module imported in a fresh
Python {cold['python']} process that sees only `.build/lambda` then `.build/layer/python` (Lambda's
`/var/task` then `/opt/python`), with `-B` (Lambda's code directories are read-only, so nothing compiled at
import is kept), no user site-packages, no repository on the path, and the environment the handler reads.
The import is what Lambda's init phase runs: module code, the DynamoDB client built in advance and the heap
frozen (`functions/common/runtime.py`). Median of {cold['runs']} processes, wall time and the process's CPU
time (the machine is shared with other work: load average {cold['load_average']:.1f} during the run, so CPU
time is the steadier number). The last column is each package's own import time (`-X importtime`, ms) in one
further run.

| handler | wall, median | CPU, median | runs (wall, ms) | where the time goes (ms) |
| --- | --- | --- | --- | --- |
{rows}

Before and after the second round of cuts, measured interleaved on the same machine (9 fresh processes each,
medians, ms; the same layer; "before" is the asset of main at 07c7804):

| handler | CPU before | CPU after | wall before | wall after |
| --- | --- | --- | --- | --- |
| ingest | 504 | 392 | 512 | 392 |
| management | 562 | 431 | 568 | 431 |
| portal | 530 | 427 | 550 | 445 |
| bulk_ingest | 457 | 352 | 474 | 353 |
| cycle_close | 496 | 266 | 513 | 271 |

The machine's speed varies by tens of percent from one run to the next (other work shares it: the table at
the top of this section is one run at one moment), so compare numbers taken together. What changed, by effect:

- **The collector off during the imports, and no full collection before the freeze**
  (`functions/common/runtime.py`: each handler module's imports and setup run inside `init_phase()`), about
  60 ms on every handler. The imports only grow the heap, so each automatic collection walked objects about to
  be frozen, and the full collection before the freeze walked the whole heap once more (30-60 ms) to free
  about 2,000 blocks of cyclic garbage, which now stay frozen. Requests see the same frozen heap: a 1,000-event
  ingest workload (validation, matching, item building) in a fresh 3.12 process ran the same collections,
  3 full ones in 8 requests, with either build.
- **No pydantic in the cycle close**: `Settings` (`functions/common/settings.py`) is a dataclass (it was that
  Lambda's only model), and the billing and meter services import their request models for type checking
  only (the management routes validate with them): about 130 ms off the cycle close, 15-25 ms off the portal.
- **botocore's clients without boto3** (`functions/common/aws_clients.py`): boto3 added its session, resource
  layer and s3transfer (with multiprocessing) to every cold start, about 20 ms, for clients that are botocore's.
- **The ingest route apart from the listing routes** (`functions/events/ingest_route.py`): the ingest Lambda
  no longer builds the customer and meter models or imports pagination and meter filters (about 15 ms).
- `tests/infra/test_build.py` imports each handler as Lambda does and fails if it loads what it must not
  (boto3, reportlab, pydantic for the cycle close, other features' modules).

The first round (against main at 126cb5f, whose handlers took 1.2-1.9 s):

- **Bytecode for Python 3.12** (`make build`): the asset had no `.pyc` files and the layer had pip's
  `cpython-311` ones, which 3.12 ignores, so every cold start compiled every module it imported (most of that
  round's difference). Now both are compiled by 3.12 with `--invalidation-mode unchecked-hash`: CDK zips every
  file with the date 1980-01-01, so timestamp `.pyc` files would never match their sources in Lambda, and a
  checked hash would read and hash each source at import.
- **reportlab imported when a PDF is rendered** (`functions/billing/render.py`): 80-110 ms off management,
  portal and cycle close, which import the renderer but render only on some invocations.
- **botocore's data cut to the four services called** (`infra/slim_botocore.py`): creating the DynamoDB
  client listed ~400 service directories (45 ms) and parsed the 1.2 MB endpoints.json (about 25 ms).
- **No X-Ray SDK** (the unused `[tracer]` extra), whose second botocore shadowed the runtime's.

The third round (2026-12-02), counted in instructions, which a shared machine does not inflate (valgrind's
`callgrind` count for the whole process, interpreter start included, about 43 M; `valgrind --tool=callgrind
python3.12 -B -s -P -c "import functions.handlers.<name>"` with the asset and layer on the path). "Before" is
the build of main at the start of that day; "after" includes that day's other changes to the code (typed
meters, the customer balance, event types), which add a little:

| handler | before | after | change |
| --- | --- | --- | --- |
| ingest | 1,418 M | 1,327 M | -6.4% |
| management | 1,601 M | 1,480 M | -7.6% |
| portal | 1,481 M | 1,394 M | -5.9% |
| bulk_ingest | 1,268 M | 1,269 M | 0 |
| cycle_close | 943 M | 951 M | +0.9% |

At the rate the cycle close runs here (951 M instructions in about 256 ms on a quiet machine, 3.7 M per ms),
300 ms is about 1,110 M instructions: the ingest is about 215 M (16%) above it.

- **Powertools' re-exporting `__init__` files made lazy in the layer** (`infra/lazy_inits.py`, a `make build`
  step): `aws_lambda_powertools.event_handler` imported every resolver (AppSync's with asyncio, Bedrock's,
  VPC Lattice's) and `utilities.data_classes` the event classes of 30 AWS services, for the API Gateway
  resolver and six classes. The rewrite binds the same names to the same objects on first access (PEP 562);
  `tests/infra/test_build.py` checks every original name against the built layer, and the build refuses an
  `__init__` that does more than re-export, so a Powertools upgrade that changes one fails the build.
- **botocore's models kept decompressed** (`infra/slim_botocore.py`): botocore reads `service-2.json` before
  `service-2.json.gz`, and un-gzipping the DynamoDB model and its endpoint rules cost 10.7 M instructions.
- **Request models built on first use** (`RequestModel` in `functions/common/request_types.py`,
  `defer_build`): the management Lambda defined 36 models and built the validators of all of them, for the one
  or two routes a cold start serves. The ingest's event models are still built at import: every ingest request
  uses them, and the init phase is where that work belongs.

**The management Lambda's routes by feature, on first use** (2026-12-04, `ROUTE_GROUPS` in
`functions/handlers/route_groups.py`): its cold start imported and registered all eight features' routes (billing
alone about 50 ms of imports); now it registers the group of the path its request is for, on that request, and
the others on their first request. Measured by this benchmark 3 minutes apart: 347 -> 262 ms for the import;
the first request to a billing path then adds about 55 ms (its modules and routes), a customers path about 2 ms,
so a cold start with its first request is faster whatever that request is. The not-served path patterns compile
on first use (2.4 ms off every API Lambda). `tests/infra/test_route_groups.py` checks that every route a group
registers is found by its path's first segment.

**The target depends on the machine's minute**, whose speed moves by tens of percent within the hour. The run
above (2026-12-04 21:16 UTC, load 1.2) has every handler under 300 ms; earlier the same day, after the entities
split (8f6f598), the median of 9 was ingest 286, portal 329, bulk 271, webhook delivery 289, management 255 and
cycle close 222 ms; at 02:15 UTC (load 0.35) ingest 299-309, portal 332-362, webhook delivery 286-313 ms; the
same build at 03:29, with the VM throttled (a CPU-bound loop 1.7x slower), 450-620 ms for every handler. The
portal is the one nearest the line: Powertools' OpenAPI parameter models and pydantic about 93 ms, botocore
(through customer sessions) about 90 ms, the logger 26 ms, the billing entities 15 ms, creating the client about
22 ms (profiled; not taken, each measured at under 2 ms: pydantic's plugin discovery off, `-X no_debug_ranges`,
stripping the DynamoDB service model's documentation). What is left in every handler is mostly the libraries:
regular expressions compiled at import come to about 27 ms in each (urllib3's URL and IPv6 patterns 6.8 ms,
botocore's docstring machinery with `html.parser` 8 ms), the entities (`functions.store.entities`: 3 frozen,
slotted dataclasses now; the billing and webhook ones are in modules of their own that ingest and bulk do not
import), and
creating the DynamoDB client 20-30 ms. Those are where a next cut starts. Our code is the `functions` column above (our modules, and the handler module's setup, which builds the
DynamoDB client: 20-30 ms of it). The libraries alone, in a fresh process with the collector off (Powertools'
logger, metrics and HTTP resolver, one pydantic model, a botocore DynamoDB client, none of our code) took
about 330 ms on a quiet machine before the third round. Each in isolation: botocore with urllib3 and the
standard library they import (http.client, email, ssl) about 180 ms, plus 20-30 ms to create the client;
pydantic with one model about 150 ms (pydantic-core's schema module alone 30 ms); Powertools' event handler
about 100 ms now. Powertools' OpenAPI validation (`enable_validation`) adds nothing measurable over pydantic
itself, and validating the ingest's first request costs about 3 ms, so the ingest keeps it. Not taken: Lambda
SnapStart for Python (the initialized environment restored from a snapshot) takes the import out of the cold
start altogether, at the price of publishing versions and invoking aliases; it does not change this number.
"""


if __name__ == "__main__":
    main()
