"""Field types shared by the request models of several features (pydantic: request models only)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict

from functions.common.metadata import check_metadata

# The one metadata rule, for every resource that takes metadata (events, customers, meters, products).
Metadata = Annotated[dict[str, Any], AfterValidator(check_metadata)]


class RequestModel(BaseModel):
    """Base of the request models a Lambda holds for many routes, of which one cold start serves one or two: the
    validator is built on the model's first use, not at import (about 1 ms per model in each cold start of the
    management and portal Lambdas, docs/performance.md). The ingest's models are built at import instead: its
    Lambda uses them in every request, so building them in the init phase keeps the work off the first one."""

    # extra="forbid": no request model drops a field it does not implement, nested ones included (a price's
    # unknown field, an address's): the 422 names it.
    model_config = ConfigDict(defer_build=True, extra="forbid")
