"""The `meterbill` command: the local stack and the operator's commands against it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DEFAULT_STATE_DIR = Path(".meterbill")
USAGE_ERROR = 2  # argparse's status for a usage error; a user's mistake is one line on stderr, never a traceback


def fail(message: str) -> int:
    print(f"meterbill: {message}", file=sys.stderr)
    return USAGE_ERROR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="meterbill")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help="where local.json and data live")
    commands = parser.add_subparsers(dest="command", required=True)

    dev = commands.add_parser("dev", help="start the local stack in the foreground")
    dev.add_argument("--port", type=int, default=3000, help="API port (0 picks a free one)")
    dev.add_argument("--in-memory", action="store_true", help="keep no data across restarts")
    dev.add_argument("--demo", action="store_true", help="load demo data and print a portal link")
    dev.add_argument("--cycle-seconds", type=float, default=60.0,
                     help="how often the schedule invokes the cycle close (the template says 15 minutes)")
    dev.add_argument("--bulk-timeout", type=int, help="the bulk-ingest function's timeout in seconds")
    dev.add_argument("--retry-delay-scale", type=float, default=1.0,
                     help="Lambda's async retry delays (1 and 2 minutes) times this")

    org = commands.add_parser("org", help="organizations")
    org_commands = org.add_subparsers(dest="org_command", required=True)
    org_create = org_commands.add_parser("create", help="create an organization and print its access token")
    org_create.add_argument("name")

    audit = commands.add_parser("audit", help="recompute every aggregate from stored events; exit 1 on a difference")
    audit.add_argument("--org", help="organization id (default: the local stack's)")

    ingest = commands.add_parser("ingest", help="send a batch file (NDJSON, CSV or JSON array, gzip or plain)")
    ingest.add_argument("file", type=Path)
    ingest.add_argument("--bulk", action="store_true", help="put it in the batch bucket for the bulk Lambda")
    ingest.add_argument("--rejects", type=Path, help="where refused lines go (default: FILE.rejects.ndjson)")

    close = commands.add_parser("close-cycles", help="run the cycle-close handler now")
    close.add_argument("--as-of", help="ISO 8601 time to close as of (default: now)")

    args = parser.parse_args(argv)
    if args.command == "dev":
        from local_stack.stack import Options, run

        return run(args.state_dir, in_memory=args.in_memory, demo=args.demo, options=Options(
            port=args.port, bulk_timeout=args.bulk_timeout, retry_delay_scale=args.retry_delay_scale,
            schedule_seconds=args.cycle_seconds))

    import os

    from local_stack.stack import STATE_FILE, connect

    # Mistakes found before touching anything: exit 2 with one line.
    if args.command == "ingest" and not args.file.is_file():
        return fail(f"{args.file}: no such file")
    if args.command == "close-cycles" and args.as_of:
        from functions.common.clock import parse_iso

        try:
            parse_iso(args.as_of)
        except ValueError:
            return fail(f"--as-of {args.as_of!r} is not an ISO 8601 time with a timezone "
                        "(e.g. 2026-02-01T00:00:00Z)")

    # Against a running local stack by default; against a real table when TABLE_NAME is set and none runs.
    state: dict = {}
    if (args.state_dir / STATE_FILE).exists() or "TABLE_NAME" not in os.environ:
        try:
            state = connect(args.state_dir)
        except SystemExit as exc:  # read_state's one-line explanation
            return fail(str(exc))
    if args.command == "org":
        from functions.organizations.service import create_organization

        created = create_organization(args.name)
        print(json.dumps({"organization_id": created.organization_id, "token": created.token}))
        return 0
    if args.command == "audit":
        from functions.audit.service import audit as run_audit
        from functions.store import organizations

        org_id = args.org or state.get("organization_id")
        if not org_id:
            return fail("--org is required when no local stack is running")
        if organizations.get(org_id) is None:
            # An unknown organization has no aggregates: "0 differences" would pass an audit that checked nothing.
            return fail(f"no organization {org_id!r}")
        differences = run_audit(org_id)
        for d in differences:
            print(f"DIFF customer={d.customer_id} meter={d.meter_id} period={d.period_key} {d.field}: "
                  f"stored={d.stored} recomputed={d.recomputed}")
        print(f"audit: {len(differences)} difference(s)")
        return 1 if differences else 0
    if args.command == "ingest":
        return ingest_command(args, state)
    if args.command == "close-cycles":
        return close_cycles(args.as_of)
    return 2


CLOSE_WAIT_SECONDS = 600


def close_cycles(as_of: str | None) -> int:
    """Invoke the cycle-close function of the running stack, as its schedule does, and wait for its answer and for
    the close workers and the invoice publisher to empty their queues (`--as-of` was checked in main). Exit 1 when
    the run failed or messages were still queued after CLOSE_WAIT_SECONDS (a close kept failing: see the stack's
    output; SQS retries it after the queue's visibility timeout)."""
    import os

    import boto3

    from local_stack import template
    from local_stack.stack import scheduled_event, wait_for_empty_queues

    event = scheduled_event("meterbill-close-cycles", **({"as_of": as_of} if as_of else {}))
    response = boto3.client("lambda").invoke(FunctionName=_function("cycle_close"), Payload=json.dumps(event))
    payload = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        print(json.dumps(payload, indent=2, default=str))
        return 1
    workers = {_function("close_worker"), _function("invoice_publisher")}
    urls = [f"{os.environ['AWS_ENDPOINT_URL']}/{template.ACCOUNT}/{m.queue}"
            for m in template.load().queue_mappings if m.function in workers]
    payload["still_queued"] = wait_for_empty_queues(boto3.client("sqs"), urls, CLOSE_WAIT_SECONDS)
    print(json.dumps(payload, indent=2, default=str))
    return 1 if payload["still_queued"] else 0


def _function(handler_module: str) -> str:
    from local_stack import template

    stack = template.load()
    wanted = f"functions.handlers.{handler_module}.handler"
    return next(name for name, spec in stack.functions.items() if spec.handler == wanted)


def ingest_command(args: argparse.Namespace, state: dict) -> int:
    """Exit 0 when every line went in (or was a duplicate), 1 when some were refused, 2 for a usage error
    (unreadable or unsupported file, no stack), 3 when the API failed and the run stopped (run it again: lines
    already sent count as duplicates)."""
    import httpx

    from functions.bulk.formats import UnsupportedFormat
    from local_stack.ingest_file import IngestStopped, bulk_upload, stream_to_api

    if not state:
        return fail("ingest needs a running local stack (start one with `make dev`)")
    try:
        if args.bulk:
            key = bulk_upload(state, args.file)
            print(json.dumps({"bucket": state["batch_bucket"], "key": key,
                              "result": key.replace("incoming/", "results/", 1) + ".result.json"}))
            return 0
        rejects = args.rejects or args.file.with_name(args.file.name + ".rejects.ndjson")
        counts = stream_to_api(state, args.file, rejects)
    except UnsupportedFormat as exc:
        return fail(f"{args.file}: {exc}")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        return fail(f"{args.file}: unreadable ({exc})")
    except httpx.TransportError as exc:
        return fail(f"no running local stack answers at {state.get('api_url')} ({exc}); start one with `make dev`")
    except IngestStopped as exc:
        print(f"\nmeterbill: stopped: {exc}; lines sent so far are kept, run the command again", file=sys.stderr)
        return 3
    print(json.dumps(counts))
    return 1 if counts["rejected"] else 0


if __name__ == "__main__":
    sys.exit(main())
