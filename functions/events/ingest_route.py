"""The ingest route (`POST /v1/events/ingest`), served by the ingest Lambda. Apart from the listing routes
(functions/events/routes.py) so that the ingest Lambda imports none of what they need: customer and meter
schemas, pagination, meter filters."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Body

from functions.auth.service import require
from functions.common.http import parsed_by_pydantic
from functions.common.openapi import describe
from functions.events import service
from functions.events.schemas import EventsIngest


def register_ingest(app: APIGatewayHttpResolver) -> None:
    @app.post("/v1/events/ingest", **describe("events.EventsIngestResponse", scope="events:write", body=True,
                                                  write=True))
    def ingest_events(body: Annotated[EventsIngest, parsed_by_pydantic(EventsIngest), Body()]) -> dict:
        principal = require(app, "events:write")
        result = service.ingest(principal.organization_id, body.events,
                                remaining_ms=app.lambda_context.get_remaining_time_in_millis)
        return {"inserted": result.inserted, "duplicates": result.duplicates}
