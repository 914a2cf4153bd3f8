"""POST a webhook to the organization's endpoint (the standard library's client: nothing more in the layer)."""

from __future__ import annotations

import urllib.error
import urllib.request

TIMEOUT_SECONDS = 10  # Polar's: an endpoint that has not answered by then counts as failed
RESPONSE_KEPT = 2048  # characters of the response body kept in the delivery log


def post(url: str, body: str, headers: dict[str, str]) -> tuple[int | None, str]:
    """(HTTP status, the start of the response body); (None, the error) when the endpoint could not be reached.
    Redirects are not followed: a 3xx is the endpoint's answer, and not a success."""
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, response.read(RESPONSE_KEPT * 4).decode(errors="replace")[:RESPONSE_KEPT]
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(RESPONSE_KEPT * 4).decode(errors="replace")[:RESPONSE_KEPT]
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"[:RESPONSE_KEPT]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None
