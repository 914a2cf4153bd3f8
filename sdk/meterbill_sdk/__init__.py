"""Meterbill's Python SDK: a typed client and an ingestion buffer with usage strategies."""

from meterbill_sdk.client import AsyncMeterbill, Meterbill, MeterbillError
from meterbill_sdk.ingestion import IngestionBuffer

__all__ = ["AsyncMeterbill", "IngestionBuffer", "Meterbill", "MeterbillError"]
