"""Words for a person, kept as a message id and its values until someone reads them.

A domain error, an import's refusal reason, a job's stage or summary line, the name of a status
or a category: each is a `Message`, the English text (the gettext message id, with `%(name)s`
placeholders) and the values to put in it. It becomes words in the reader's language only when
shown (`str(message)`, through Flask-Babel's catalogs), so the same stored summary reads in
Chinese to one staff member and in English to another, and a job's record keeps it as JSON
(`as_json`, `from_json`). Outside a request (the command line, logs) it reads in English.
"""

import json
from collections.abc import Mapping
from numbers import Integral

from flask import has_request_context
from flask_babel import format_decimal, gettext
from markupsafe import escape


class Message:
    """One message id and its values; a value may itself be a Message (a status's name, say), or a list,
    read as the reader's language lists things."""

    __slots__ = ("text", "values")

    def __init__(self, text: str, /, **values):
        self.text, self.values = text, values

    def __str__(self) -> str:
        if not self.values:
            return gettext(self.text)
        return gettext(self.text, **{name: _shown(value) for name, value in self.values.items()})

    def __html__(self) -> str:  # Jinja escapes what it is given: this is text, not markup
        return str(escape(str(self)))

    def __repr__(self) -> str:
        return f"Message({self.text!r}, **{self.values!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Message) and (self.text, self.values) == (other.text, other.values)

    def __hash__(self) -> int:
        return hash(self.text)

    def english(self) -> str:
        """The message in English whatever the request asks (logs, the command line)."""
        if not self.values:
            return self.text
        return self.text % {name: _english(value) for name, value in self.values.items()}

    def as_json(self) -> dict:
        """The message as plain data, to keep in a record and show later in the reader's language."""
        return {"text": self.text, "values": {name: _data(value) for name, value in self.values.items()}}

    @classmethod
    def plain(cls, text: str) -> "Message":
        """Text shown as it stands (data, or words kept before they were messages)."""
        return cls("%(text)s", text=text)

    def stored(self) -> str:
        """The message as a record keeps it in a text column."""
        return json.dumps(self.as_json(), ensure_ascii=False)

    @classmethod
    def from_stored(cls, text: str) -> "Message":
        """A message kept with `stored` (text kept before messages were, as it stands)."""
        try:
            data = json.loads(text)
        except ValueError:
            return cls.plain(text)
        return cls.from_json(data) if isinstance(data, Mapping) and "text" in data else cls.plain(text)

    @classmethod
    def from_json(cls, data: Mapping) -> "Message":
        """A message kept with `as_json`."""
        return cls(data["text"], **{name: _value(value) for name, value in data.get("values", {}).items()})


def _shown(value):
    if isinstance(value, list | tuple):
        # TRANSLATORS: what goes between the items of a list (一、二、三).
        return gettext(", ").join(str(_shown(item)) for item in value)
    if isinstance(value, Integral) and not isinstance(value, bool) and has_request_context():
        return format_decimal(value)  # 12,345: counts people read, grouped as their language groups them
    return value


def _english(value):
    if isinstance(value, list | tuple):
        return ", ".join(str(_english(item)) for item in value)
    if isinstance(value, Integral) and not isinstance(value, bool):
        return f"{value:,}"
    return value.english() if isinstance(value, Message) else value


def _data(value):
    if isinstance(value, list | tuple):
        return [_data(item) for item in value]
    return value.as_json() if isinstance(value, Message) else value


def _value(data):
    if isinstance(data, list):
        return [_value(item) for item in data]
    return Message.from_json(data) if isinstance(data, Mapping) else data
