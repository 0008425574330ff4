"""Validators on what a plate shows, so a repeat scan is a 304 and a change is seen at once."""

from flask import Request, Response


def revalidated(response: Response, request: Request, vary: str | None = None) -> Response:
    """Tag the response with a hash of its body and answer 304 when the client has it already.

    `no-cache` lets phones keep the page but ask every time, so a changed officer or
    service point shows on the next scan (and every scan reaches the counter).
    """
    response.add_etag()
    response.cache_control.public = True
    response.cache_control.no_cache = True
    if vary:
        response.vary.add(vary)
    return response.make_conditional(request)
