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


def fields(request) -> dict[str, str]:
    """A form's fields, or a JSON object's, each as text: some clients send one, some the other.

    :raises BadParameterError: a body that is JSON but no object, or a field neither text nor a number.
    """
    if request.form:
        return request.form.to_dict()
    body = request.get_json(silent=True)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise BadParameterError("body", "send a form or a JSON object")
    for name, value in body.items():
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise BadParameterError(str(name), "must be text or a number")
    return {str(name): str(value) for name, value in body.items()}
