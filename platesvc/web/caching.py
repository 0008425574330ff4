"""Validators on what a plate shows, so a repeat scan is a 304 and a change is seen at once."""

import hashlib

from flask import Request, Response


def revalidated(body: str, mimetype: str, request: Request, status: int = 200, vary: str | None = None) -> Response:
    """The body tagged with a hash of itself, or a bodiless 304 when the client has it already.

    `no-cache` lets phones keep the page but ask every time, so a changed officer or
    service point shows on the next scan (and every scan reaches the counter).
    """
    data = body.encode()
    tag = hashlib.sha1(data).hexdigest()
    headers = {"ETag": f'"{tag}"', "Cache-Control": "public, no-cache"}
    if vary:
        headers["Vary"] = vary
    if status == 200 and tag in request.if_none_match:
        return Response(status=304, headers=headers)
    return Response(data, status, headers=headers, mimetype=mimetype)
