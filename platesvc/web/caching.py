"""Validators on what a plate shows, so a repeat scan is a 304 and a change is seen at once."""

import hashlib

from flask import Request, Response


def revalidated(body: str | bytes, mimetype: str, request: Request, status: int = 200, vary: str | None = None,
                cache_control: str = "public, no-cache") -> Response:
    """The body tagged with a hash of itself, or a bodiless 304 when the client has it already.

    By default `no-cache` lets phones keep the page but ask every time, so a changed officer
    or service point shows on the next scan (and every scan reaches the counter).
    """
    data = body.encode() if isinstance(body, str) else body
    tag = hashlib.sha1(data).hexdigest()
    headers = {"ETag": f'"{tag}"', "Cache-Control": cache_control}
    if vary:
        headers["Vary"] = vary
    if status == 200 and tag in request.if_none_match:
        return Response(status=304, headers=headers)
    return Response(data, status, headers=headers, mimetype=mimetype)
