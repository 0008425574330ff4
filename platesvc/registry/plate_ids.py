"""Plate IDs: a 6-digit division code, a Crockford base32 serial and a check character.

The check is Crockford's mod-37 over the whole ID read as base 32. Because 37 is
prime and 32 − 1 is not a multiple of it, every single mistyped character and every
swap of two neighbours changes the value mod 37 and is caught. Serials whose check
would need one of Crockford's five extra check symbols (*~$=U) are never issued, so
every ID stays inside QR alphanumeric mode and an ordinary phone keyboard.
"""

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from platesvc.errors import InvalidPlateIdError, PlatesvcError
from platesvc.messages import Message
from platesvc.registry import audit
from platesvc.store.bulk_writes import insert_rows
from platesvc.store.models import Building, BuildingStatus, Plate, PlateSeries, PlateStatus
from platesvc.store.search_entries import refresh_entries

log = logging.getLogger(__name__)

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-_.·]+")

PREFIX_LENGTH = 6
SERIAL_LENGTH = 5
ID_LENGTH = PREFIX_LENGTH + SERIAL_LENGTH + 1
MAX_SERIAL = len(ALPHABET) ** SERIAL_LENGTH - 1
_CHECK_MODULUS = 37


@dataclass(frozen=True)
class PlateId:
    """A valid plate ID, split into its parts."""

    prefix: str
    serial: int
    canonical: str = field(init=False, repr=False, compare=False)  # as in QR codes and URLs: 6401040A3KXD

    def __post_init__(self):
        if len(self.prefix) != PREFIX_LENGTH or not (self.prefix.isascii() and self.prefix.isdigit()):
            raise ValueError(f"plate ID prefix must be a 6-digit division code, not {self.prefix!r}")
        body = self.prefix + encode_serial(self.serial)
        check = check_value(body)
        if check >= len(ALPHABET):
            raise ValueError(f"serial {self.serial} is not issuable under {self.prefix}")
        object.__setattr__(self, "canonical", body + ALPHABET[check])  # every scan asks for it

    @property
    def display(self) -> str:
        """The ID grouped for people: 640104-0A3KX-D."""
        text = self.canonical
        return f"{text[:PREFIX_LENGTH]}-{text[PREFIX_LENGTH:-1]}-{text[-1]}"

    def __str__(self) -> str:
        return self.canonical


def encode_serial(serial: int) -> str:
    """A serial as SERIAL_LENGTH Crockford base32 symbols."""
    if not 0 <= serial <= MAX_SERIAL:
        raise ValueError(f"serial {serial} is outside 0..{MAX_SERIAL}")
    symbols = []
    for _ in range(SERIAL_LENGTH):
        serial, digit = divmod(serial, len(ALPHABET))
        symbols.append(ALPHABET[digit])
    return "".join(reversed(symbols))


def check_value(body: str) -> int:
    """The mod-37 check value of an ID body (prefix and serial, canonical symbols)."""
    value = 0
    for symbol in body:
        value = (value * len(ALPHABET) + _VALUE[symbol]) % _CHECK_MODULUS
    return value


def is_issuable(prefix: str, serial: int) -> bool:
    """True when the serial's check character is one of the 32 plain symbols."""
    return check_value(prefix + encode_serial(serial)) < len(ALPHABET)


def next_issuable_serials(prefix: str, start: int, count: int) -> tuple[list[int], int]:
    """`count` issuable serials from `start` on, and the serial after the last one."""
    serials = []
    serial = start
    while len(serials) < count:
        if serial > MAX_SERIAL:
            raise ValueError(f"division {prefix} has run out of plate serials")
        if is_issuable(prefix, serial):
            serials.append(serial)
        serial += 1
    return serials, serial


# What QR alphanumeric mode can hold; a payload of only these needs no byte mode anywhere.
QR_ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


def plate_url(public_url: str, canonical_id: str) -> str:
    """The URL a plate's QR code carries: upper-case, so the symbol is alphanumeric mode end to end.

    Scheme and host are case-insensitive, and `/P/` is a route of its own, so the
    server answers this exact URL.
    """
    return public_url.rstrip("/").upper() + "/P/" + canonical_id


def check_public_url(public_url: str) -> None:
    """Refuse a base URL that would not make a working, alphanumeric-mode plate URL.

    :raises PlatesvcError: it is not http(s)://host[:port], or has a character QR alphanumeric mode lacks.
    """
    parts = urlsplit(public_url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise PlatesvcError("PLATESVC_PUBLIC_URL=%(url)s must be http(s)://host, the address residents reach",
                            url=public_url)
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise PlatesvcError("PLATESVC_PUBLIC_URL=%(url)s: give only scheme and host; a path would be upper-cased "
                            "in the QR code and no longer match the server's routes", url=public_url)
    outside = sorted(set(plate_url(public_url, "")) - QR_ALPHANUMERIC)
    if outside:
        raise PlatesvcError("PLATESVC_PUBLIC_URL=%(url)s has %(characters)s, which QR alphanumeric mode cannot hold",
                            url=public_url, characters="".join(outside))


def normalize(text: str) -> str:
    """Upper-case, separators removed, O/I/L read as 0/1/1."""
    return _SEPARATORS.sub("", text).upper().translate(_ALIASES)


@lru_cache(maxsize=8192)  # a scanned plate is scanned again; what is valid never changes (~2 MiB)
def parse_plate_id(text: str) -> PlateId:
    """Parse any accepted spelling of a plate ID.

    :raises InvalidPlateIdError: with a message a person can act on.
    """
    candidate = normalize(text)
    if len(candidate) != ID_LENGTH:
        raise InvalidPlateIdError("A plate ID has %(length)s characters (like 640104-0A3KX-D); this one has %(count)s.",
                                  length=ID_LENGTH, count=len(candidate))
    prefix, serial_text, check = candidate[:PREFIX_LENGTH], candidate[PREFIX_LENGTH:-1], candidate[-1]
    if not prefix.isascii() or not prefix.isdigit():
        raise InvalidPlateIdError("A plate ID starts with the 6-digit code of the division that issued it.")
    unknown = sorted({c for c in serial_text + check if c not in _VALUE})
    if unknown:
        raise InvalidPlateIdError("A plate ID cannot contain %(characters)s.", characters="".join(unknown))
    expected = check_value(prefix + serial_text)
    if expected >= len(ALPHABET) or ALPHABET[expected] != check:
        raise InvalidPlateIdError("This plate ID fails its check character: a character is mistyped.")
    serial = 0
    for symbol in serial_text:
        serial = serial * len(ALPHABET) + _VALUE[symbol]
    return PlateId(prefix, serial)


def one_character_away(text: str) -> list[str]:
    """Valid canonical IDs one slip away from `text`: a wrong, swapped, missing or extra character.

    The check character catches every such slip, so none of these can equal `text`; the
    caller looks them up to offer the plate a person most likely meant.
    """
    typed = normalize(text)
    if not ID_LENGTH - 1 <= len(typed) <= ID_LENGTH + 1:
        return []
    spellings = set()
    if len(typed) == ID_LENGTH:
        for i in range(ID_LENGTH):
            spellings.update(typed[:i] + symbol + typed[i + 1:] for symbol in ALPHABET)
        spellings.update(typed[:i] + typed[i + 1] + typed[i] + typed[i + 2:] for i in range(ID_LENGTH - 1))
    elif len(typed) == ID_LENGTH - 1:
        for i in range(ID_LENGTH):
            spellings.update(typed[:i] + symbol + typed[i:] for symbol in ALPHABET)
    else:
        spellings.update(typed[:i] + typed[i + 1:] for i in range(len(typed)))
    spellings.discard(typed)
    return sorted(spelling for spelling in spellings if _is_valid(spelling))


def _is_valid(candidate: str) -> bool:
    try:
        return parse_plate_id(candidate).canonical == candidate
    except (InvalidPlateIdError, ValueError):
        return False


@dataclass
class IssueResult:
    """What an issuing run did, per division code, and what it could not do."""

    issued: dict[str, int] = field(default_factory=dict)
    refused: dict[str, Message] = field(default_factory=dict)  # division code → reason

    @property
    def total(self) -> int:
        return sum(self.issued.values())


def buildings_awaiting_plates(session: Session) -> dict[str, int]:
    """Active buildings with no plate yet, counted by division code."""
    rows = session.execute(
        select(Building.division_code, func.count())
        .outerjoin(Plate, Plate.building_id == Building.id)
        .where(Plate.id.is_(None), Building.status == BuildingStatus.ACTIVE)
        .group_by(Building.division_code)
    ).all()
    return dict(rows)


def issue_plates(session: Session, batch_size: int = 2000, progress: Callable[[int], None] | None = None,
                 actor: audit.Actor = audit.SYSTEM) -> IssueResult:
    """Give every active building without a plate a new plate ID, each with its issue event.

    Each batch is one transaction: it either issues all its IDs and advances the
    series, or nothing. Concurrent issuers queue on the series row (see _issue_batch).
    """
    result = IssueResult()
    awaiting = buildings_awaiting_plates(session)
    series = set(session.scalars(select(PlateSeries.prefix)))
    session.commit()  # each batch must begin its own transaction with the lock
    for prefix in sorted(awaiting):
        if prefix not in series:
            result.refused[prefix] = Message(
                "%(count)s buildings in division %(division)s, which has no plate series: import the division first",
                count=awaiting[prefix], division=prefix)
            continue
        after = 0  # batches go in building order: the next starts past the last one's buildings
        while issued := _issue_batch(session, prefix, batch_size, actor, after):
            count, after = issued
            result.issued[prefix] = result.issued.get(prefix, 0) + count
            if progress:
                progress(count)
    return result


def _issue_batch(session: Session, prefix: str, batch_size: int, actor: audit.Actor,
                 after: int) -> tuple[int, int] | None:
    """Issue plates to the next batch of buildings past `after`; (how many, the last building id)."""
    try:
        # Touching the series row first makes this transaction the only writer for the
        # prefix until it ends: a row lock on PostgreSQL, the write lock on SQLite. A
        # second issuer waits here, then sees the buildings this one has covered.
        session.execute(
            update(PlateSeries).where(PlateSeries.prefix == prefix)
            .values(next_serial=PlateSeries.next_serial)
            .execution_options(synchronize_session=False))
        next_serial = session.scalar(select(PlateSeries.next_serial).where(PlateSeries.prefix == prefix))
        building_ids = session.scalars(
            select(Building.id)
            .outerjoin(Plate, Plate.building_id == Building.id)
            .where(Plate.id.is_(None), Building.status == BuildingStatus.ACTIVE,
                   Building.division_code == prefix, Building.id > after)
            .order_by(Building.id)
            .limit(batch_size)
        ).all()
        if not building_ids:
            session.rollback()
            return None
        serials, following = next_issuable_serials(prefix, next_serial, len(building_ids))
        now = datetime.now(UTC)
        ids = [PlateId(prefix, serial).canonical for serial in serials]
        insert_rows(session, Plate, [
            {"id": plate_id, "prefix": prefix, "serial": serial, "building_id": building_id,
             "status": PlateStatus.ISSUED.value, "issued_at": now, "status_changed_at": now}
            for plate_id, building_id, serial in zip(ids, building_ids, serials)
        ])
        audit.record_many(session, actor, "plate.issued", "plate", [(plate_id, None, PlateStatus.ISSUED.value)
                                                                    for plate_id in ids])
        refresh_entries(session, building_ids)  # findable by address once it has an ID
        session.execute(
            update(PlateSeries).where(PlateSeries.prefix == prefix).values(next_serial=following)
            .execution_options(synchronize_session=False))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    log.info("issued %d plates for %s", len(building_ids), prefix)
    return len(building_ids), building_ids[-1]
