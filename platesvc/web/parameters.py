"""Request parameters read the one way: anything malformed or out of range is a 400 that names it."""

import math

from platesvc.errors import BadParameterError


def number(values, name: str, low: float, high: float, required: bool = True) -> float | None:
    """`values[name]` (a query, a form or a JSON object) as a number within low..high; None when absent."""
    given = values.get(name)
    text = "" if given is None else str(given).strip()
    if not text:
        if required:
            raise BadParameterError(name, "is required")
        return None
    try:
        value = float(text)
    except ValueError:
        raise BadParameterError(name, f"{text!r} is not a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        bounds = f"at least {low:g}" if high == math.inf else f"between {low:g} and {high:g}"
        raise BadParameterError(name, f"must be {bounds}")
    return value
