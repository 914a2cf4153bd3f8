"""Polar's customer session shapes (CustomerSessionCustomerIDCreate / ...ExternalIDCreate, CustomerSession)."""

from __future__ import annotations

from pydantic import ConfigDict, model_validator

from functions.common.request_types import RequestModel
from functions.common.schemas import lazy_models


class CustomerSessionCreate(RequestModel):
    # Polar's member_id / external_member_id (members are not served) are a 422 naming them, not dropped.
    model_config = ConfigDict(extra="forbid")

    customer_id: str | None = None
    external_customer_id: str | None = None
    return_url: str | None = None

    @model_validator(mode="after")
    def _one(self) -> CustomerSessionCreate:
        if (self.customer_id is None) == (self.external_customer_id is None):
            raise ValueError("give exactly one of customer_id or external_customer_id")
        return self


def _response_models() -> dict[str, type]:  # built on first use: functions/common/schemas.py
    from datetime import datetime

    from pydantic import Field

    from functions.common.schemas import Schema
    from functions.customers.schemas import Customer

    class CustomerSession(Schema):
        id: str
        created_at: datetime
        modified_at: datetime | None
        token: str = Field(description="mb_cst_...; valid for one hour, for the portal only")
        expires_at: datetime
        return_url: str | None
        customer_portal_url: str
        customer_id: str
        customer: Customer

    return {"CustomerSession": CustomerSession}


__getattr__ = lazy_models(_response_models)
