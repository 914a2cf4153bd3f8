"""AWS SDK clients, made by botocore without boto3.

boto3's client is botocore's, created through a boto3 session; what boto3 adds (resources, the S3 transfer
manager) no function uses, and importing it (s3transfer, multiprocessing, its session and loaders) costs every
cold start about 20 ms. Credentials, region and endpoints come from the environment, as with boto3.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import botocore.session
from botocore.config import Config


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


def client(service: str, config: Config | None = None) -> Any:
    """A new client for `service` (one of infra/slim_botocore.py's SERVICES: the layer has no other models)."""
    return _session().create_client(service, config=config)
