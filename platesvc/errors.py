"""Domain errors; each carries the HTTP status a web caller should get, and its message as a message id
with values (messages.Message), read in the caller's language."""

from platesvc.messages import Message


class PlatesvcError(Exception):
    """Base of every error the service reports to a caller: `message` is the English text (a message id,
    with `%(name)s` for each of `values`)."""

    http_status = 400

    def __init__(self, message: str | Message, /, **values):
        self.words = message if isinstance(message, Message) else Message(message, **values)
        super().__init__(self.words.english())

    @property
    def message(self) -> str:
        """The message in the reader's language (English outside a request)."""
        return str(self.words)

    def details(self) -> dict:
        """Fields a JSON error answer carries beside the message."""
        return {}


class InvalidPlateIdError(PlatesvcError):
    """Text that cannot be a plate ID (wrong shape or failed check character)."""

    http_status = 404


class NotFoundError(PlatesvcError):
    http_status = 404


class UnknownPlateError(NotFoundError):
    """No plate answers to this text; `suggestions` are real plates one character away."""

    def __init__(self, message: str, suggestions: list[str], /, **values):
        super().__init__(message, **values)
        self.suggestions = suggestions

    def details(self) -> dict:
        return {"suggestions": self.suggestions}


class RetiredPlateError(PlatesvcError):
    """The plate's building was demolished or merged; `successor` is the plate it went to."""

    http_status = 410

    def __init__(self, message: str, plate_id: str, successor: str | None, /, **values):
        super().__init__(message, **values)
        self.plate_id = plate_id
        self.successor = successor

    def details(self) -> dict:
        return {"id": self.plate_id, "successor": self.successor}


class BadParameterError(PlatesvcError):
    """A request parameter that is missing, malformed or out of range; `label` is what a form calls it."""

    def __init__(self, parameter: str, message: str | Message, /, *, label: Message | None = None, **values):
        self.reason = message if isinstance(message, Message) else Message(message, **values)
        super().__init__(Message("%(parameter)s: %(reason)s", parameter=label or parameter, reason=self.reason))
        self.parameter = parameter

    def details(self) -> dict:
        return {"parameter": self.parameter}


class DataError(PlatesvcError):
    """Input data that cannot be stored as given."""

    http_status = 422


class AuthenticationError(PlatesvcError):
    """No staff user, or credentials that do not sign one in."""

    http_status = 401


class PermissionDeniedError(PlatesvcError):
    """A signed-in user whose role does not allow this."""

    http_status = 403


class ConflictError(PlatesvcError):
    """A change the record's present state does not allow (a plate transition out of order)."""

    http_status = 409
