"""JSON text as the service sends it: compact and UTF-8, for bodies assembled from encoded parts.

The plate document, nearby answers and OGC pages are joined from pieces encoded once
(a service point, a feature); every piece is written the same way.
"""

import json


def json_text(value) -> str:
    """`value` as compact JSON, Chinese left as is (the body is UTF-8)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
