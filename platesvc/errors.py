"""Domain errors; each carries the HTTP status a web caller should get."""


class PlatesvcError(Exception):
    """Base of every error the service reports to a caller."""

    http_status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidPlateIdError(PlatesvcError):
    """Text that cannot be a plate ID (wrong shape or failed check character)."""

    http_status = 404


class NotFoundError(PlatesvcError):
    http_status = 404


class DataError(PlatesvcError):
    """Input data that cannot be stored as given."""

    http_status = 422
