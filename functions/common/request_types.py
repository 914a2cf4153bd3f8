"""Field types shared by the request models of several features (pydantic: request models only)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator

from functions.common.metadata import check_metadata

# The one metadata rule, for every resource that takes metadata (events, customers, meters, products).
Metadata = Annotated[dict[str, Any], AfterValidator(check_metadata)]
