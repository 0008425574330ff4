"""Request parameters, declared once as marshmallow schemas: webargs reads them, flask-smorest documents them.

Anything malformed or out of range is a BadParameterError naming the parameter: a 400 that each
API answers in its own shape (OGC, Open311, ours).
"""

import math
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from platesvc.errors import BadParameterError
from platesvc.messages import Message

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# What a Chinese keyboard types in full width: digits, signs and the point, as their ASCII selves.
FULL_WIDTH = str.maketrans({chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)} | {"\u3000": " "})


class Parser(FlaskParser):
    """webargs' Flask parser, refusing as the rest of the service does."""

    DEFAULT_VALIDATION_STATUS = 400
    # A body's stray keys are left to each schema (Open311 drops personal fields; the staff API refuses typos).
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "json": None, "form": None,
                                   "json_or_form": None}

    def handle_error(self, error: ValidationError, req, schema, *, error_status_code, error_headers):
        raise refusal(error.messages, schema)

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        raise BadParameterError("body", "is not valid JSON")

    def pre_load(self, location_data, *, schema, req, location):
        """A form's or a query's blank field is one not given (a page's empty box, `?limit=`)."""
        if location not in ("query", "querystring", "form"):
            return location_data
        return {name: location_data[name] for name in location_data
                if not (isinstance(location_data[name], str) and not location_data[name].strip())}

    def load_json(self, req, schema):
        """The JSON body; a body that is not JSON is refused rather than read as empty."""
        body = super().load_json(req, schema)
        if body is core.missing:
            raise BadParameterError("body", "send a JSON object (Content-Type: application/json)")
        return body

    def load_json_or_form(self, req, schema):
        return self.load_json(req, schema) if is_json_request(req) else self.load_form(req, schema)


parser = Parser()


def parse(schema: Schema, location: str) -> dict:
    """The request's parameters at `location` ("query", "form", "json"…) as `schema` reads them."""
    return parser.parse(schema, location=location)


class Form(Schema):
    """A page's form or query, of which a view reads some fields (the rest are read elsewhere, or ignored)."""

    class Meta:
        unknown = EXCLUDE


def refusal(messages: dict, schema: Schema | None = None) -> BadParameterError:
    """The refusal of the first parameter named in marshmallow's nested messages ({location: {name: [message]}}):
    a nested object's member by its path (`properties.category`), a list's item by the list's name; a form's
    field by what the form calls it (its `label`)."""
    location, problems = next(iter(messages.items()))
    if isinstance(problems, list):
        return BadParameterError("body" if location in ("json", "json_or_form") else location, _sentence(problems))
    name, why = next(iter(problems.items()))
    path = ["body" if name == "_schema" else str(name)]
    while isinstance(why, dict):  # a nested object's {member: [message]}, or a list's {index: [message]}
        member, why = next(iter(why.items()))
        if isinstance(member, str) and member != "_schema":
            path.append(member)
    field = schema.fields.get(name) if schema is not None and len(path) == 1 else None
    return BadParameterError(".".join(path), _sentence(why),
                             label=field.metadata.get("label") if field is not None else None)


def _sentence(why) -> Message:
    said = why[0] if isinstance(why, list) and why else why
    if isinstance(said, Message):
        return said
    # marshmallow's own words, from a field or validator of its own: in ours where they are the usual ones
    return MARSHMALLOW.get(str(said)) or Message("%(reason)s", reason=str(said))


# What marshmallow's own fields and schemas say (in English only), in words of ours.
MARSHMALLOW = {"Missing data for required field.": Message("is required"),
               "Field may not be null.": Message("is required"),
               "Unknown field.": Message("is not a field here"),
               "Invalid input type.": Message("is not of the kind expected"),
               "Not a valid string.": Message("must be text"),
               "Not a valid integer.": Message("must be a whole number"),
               "Not a valid number.": Message("must be a number"),
               "Not a valid boolean.": Message("must be true or false"),
               "Not a valid list.": Message("must be a list"),
               "Not a valid mapping type.": Message("must be an object")}


class Whole(fields.Integer):
    """A whole number in digits from `low` to `high`; with `cut`, a larger one is taken as `cut`, not refused."""

    def __init__(self, low: int = 0, high: int = 2 ** 31 - 1, *, cut: int | None = None, **kwargs):
        self.low, self.high, self.cut = low, (10 ** 100 if cut is not None else high), cut
        metadata = kwargs.pop("metadata", {})
        if cut is not None:
            metadata = {"maximum": cut, "description": f"Larger values are taken as {cut}", **metadata}
        super().__init__(validate=validate.Range(low, None if cut is not None else high), metadata=metadata,
                         **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        text = value.translate(FULL_WIDTH).strip() if isinstance(value, str) else value
        if self.cut is not None:
            refusal = Message("%(value)s is not a whole number of at least %(low)s", value=repr(value), low=self.low)
        else:
            refusal = Message("%(value)s is not a whole number from %(low)s to %(high)s", value=repr(value),
                              low=self.low, high=self.high)
        if isinstance(text, bool) or not isinstance(text, str | int) or (
                isinstance(text, str) and not (text.isascii() and text.isdigit())):
            raise ValidationError([refusal])
        number = int(text)
        if not self.low <= number <= self.high:
            raise ValidationError([refusal])
        return number if self.cut is None else min(number, self.cut)


class Decimal(fields.Float):
    """A finite number from `low` to `high`, in ASCII or full-width digits."""

    def __init__(self, low: float, high: float, **kwargs):
        self.low, self.high = low, high
        super().__init__(validate=validate.Range(None if low == -math.inf else low,
                                                 None if high == math.inf else high), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> float:
        text = value.translate(FULL_WIDTH).strip() if isinstance(value, str) else value
        try:
            if isinstance(text, bool) or isinstance(text, str) and not text.isascii():
                raise ValueError
            number = float(text)
        except (TypeError, ValueError):
            raise ValidationError([Message("%(value)s is not a number", value=repr(value))]) from None
        if not math.isfinite(number) or not self.low <= number <= self.high:
            if self.low == -math.inf and self.high == math.inf:
                raise ValidationError([Message("must be a finite number")])
            if self.high == math.inf:
                raise ValidationError([Message("must be at least %(low)s", low=format(self.low, "g"))])
            raise ValidationError([Message("must be between %(low)s and %(high)s", low=format(self.low, "g"),
                                          high=format(self.high, "g"))])
        return number


class Text(fields.String):
    """Text that can be stored, of at most `max_length` characters; a number sent for it (a JSON client's plate
    ID) is taken as its digits."""

    def __init__(self, *, max_length: int | None = None, **kwargs):
        self.max_length = max_length
        if max_length is not None:
            kwargs.setdefault("validate", validate.Length(max=max_length))  # documents it
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise ValidationError([Message("must be text or a number")])
        if "\x00" in value or _LONE_SURROGATE.search(value):  # no database stores them (PostgreSQL, UTF-8)
            raise ValidationError([Message("holds a character that is no text (NUL, or half of a UTF-16 pair)")])
        if self.max_length is not None and len(value) > self.max_length:
            raise ValidationError([Message("has %(count)s characters; it may have at most %(most)s", count=len(value),
                                          most=self.max_length)])
        return value


class Choice(Text):
    """One of `choices`, as written (or, with fold_case, in any case)."""

    def __init__(self, choices, *, fold_case: bool = False, **kwargs):
        self.choices, self.fold_case = [str(choice) for choice in choices], fold_case
        super().__init__(validate=validate.OneOf(self.choices), **kwargs)  # documents them

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        text = text.lower() if self.fold_case else text
        if text not in self.choices:
            raise ValidationError([Message("%(value)s is none of %(choices)s", value=repr(text), choices=self.choices)])
        return text


class Place(Text):
    """A point written `longitude,latitude` (WGS84), in ASCII or full-width digits and comma."""

    def __init__(self, **kwargs):
        super().__init__(max_length=64, metadata={"pattern": r"^\s*-?[0-9.]+\s*,\s*-?[0-9.]+\s*$",
                                                  **kwargs.pop("metadata", {})}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> tuple[float, float]:
        parts = super()._deserialize(value, attr, data, **kwargs).translate(FULL_WIDTH).split(",")
        if len(parts) != 2:
            raise ValidationError([Message("%(value)s is not a longitude and a latitude apart by a comma",
                                           value=repr(value))])
        return (Decimal(-180, 180)._deserialize(parts[0], attr, data, **kwargs),
                Decimal(-90, 90)._deserialize(parts[1], attr, data, **kwargs))


class PlaceOrId(Text):
    """A place: `longitude,latitude` (read as Place reads it), or an id of the kind the parameter names."""

    def __init__(self, **kwargs):
        super().__init__(max_length=64, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> tuple[float, float] | str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            raise ValidationError([Message("is required")])
        if "," in text.translate(FULL_WIDTH):
            return Place()._deserialize(text, attr, data, **kwargs)
        return text


class Moment(Text):
    """An ISO 8601 / W3C date-time; one without an offset is in the city's time zone."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"format": "date-time", **kwargs.pop("metadata", {})}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        try:
            return moment(text)
        except ValueError:
            raise ValidationError([Message("%(value)s is not a W3C date-time such as 2026-12-01T09:00:00+08:00",
                                          value=repr(text))]) from None


def moment(text: str) -> datetime:
    """An ISO 8601 date-time, in the city's time zone when it gives no offset.

    :raises ValueError: not a date-time.
    """
    given = datetime.fromisoformat(text)
    return given if given.tzinfo else given.replace(tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))
