"""The data model: divisions, roads, buildings and their plates, beats, services, culture;
staff users and their API tokens, the audit trail, resident reports and staff jobs."""

from datetime import UTC, date, datetime
from enum import StrEnum

from shapely import LineString, MultiLineString, MultiPolygon, Point
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column, relationship

from platesvc.messages import Message
from platesvc.store.geometry import GeometryColumn


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A stored timestamp with its zone: SQLite hands them back without one (they are stored in UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class DivisionLevel(StrEnum):
    DISTRICT = "district"  # county-level: 区, 县, 县级市 (GB/T 2260 six-digit code)
    SUBDISTRICT = "subdistrict"  # 街道, 镇, 乡
    COMMUNITY = "community"  # 社区, 村


class BuildingStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"  # demolished or merged; its plate ID stays reserved


class PlateStatus(StrEnum):
    ISSUED = "issued"
    PRINTED = "printed"
    INSTALLED = "installed"
    DAMAGED = "damaged"
    MISSING = "missing"
    REPLACED = "replaced"
    RETIRED = "retired"


class Role(StrEnum):
    """What a staff user may do; each role may do everything the ones before it may."""

    VIEWER = "viewer"  # reads plates, reports and statistics
    OPERATOR = "operator"  # imports, issues, prints, edits, works the report queue
    ADMIN = "admin"  # manages users


class ReportKind(StrEnum):
    """What a resident reports; also the Open311 service codes."""

    PLATE_DAMAGED = "plate_damaged"
    PLATE_MISSING = "plate_missing"
    PLATE_WRONG = "plate_wrong"  # the plate shows the wrong road or number
    INFO_WRONG = "info_wrong"  # the page shows a wrong officer, service point or note


class ReportStatus(StrEnum):
    RECEIVED = "received"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    REJECTED = "rejected"  # closed without action: a duplicate, or nothing wrong found


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ServiceCategory(StrEnum):
    ELDERLY_CARE = "elderly_care"  # 养老服务中心/站
    DAY_CARE = "day_care"  # 日间照料中心
    MEAL_POINT = "meal_point"  # 老年助餐点
    ASSISTANCE_STATION = "assistance_station"  # 社会救助站


def _enum_check(column: str, enum: type[StrEnum]) -> CheckConstraint:
    allowed = ", ".join(f"'{member.value}'" for member in enum)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_valid")


class Division(Base):
    """An administrative division: district (county level), subdistrict or community."""

    __tablename__ = "divisions"
    __table_args__ = (_enum_check("level", DivisionLevel),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("divisions.id"), index=True)
    geom: Mapped[MultiPolygon] = mapped_column(GeometryColumn("MULTIPOLYGON"))

    parent: Mapped["Division | None"] = relationship(remote_side=[id])


class Road(Base):
    __tablename__ = "roads"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    pinyin: Mapped[str] = mapped_column(String(200))
    division_code: Mapped[str | None] = mapped_column(String(6))
    geom: Mapped[MultiLineString] = mapped_column(GeometryColumn("MULTILINESTRING"))


class StreetEdge(Base):
    """A piece of a street between two crossings (or ends) of the walkable network, made from the roads
    (reference/streets.py); a closed gap between two roads that nearly meet has no road."""

    __tablename__ = "street_edges"

    id: Mapped[int] = mapped_column(primary_key=True)
    road_id: Mapped[int | None] = mapped_column(ForeignKey("roads.id", ondelete="SET NULL"), index=True)
    source: Mapped[int] = mapped_column(Integer)  # node numbers, as pgRouting reads them
    target: Mapped[int] = mapped_column(Integer)
    length_m: Mapped[float] = mapped_column(Float)  # geodesic
    component: Mapped[int] = mapped_column(Integer)  # edges of one component reach each other
    geom: Mapped[LineString] = mapped_column(GeometryColumn("LINESTRING"))


class Building(Base):
    """A building; `division_code` is where it lies now, not the prefix of its plate."""

    __tablename__ = "buildings"
    __table_args__ = (_enum_check("status", BuildingStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[str] = mapped_column(String(64), unique=True)
    road_id: Mapped[int | None] = mapped_column(ForeignKey("roads.id"), index=True)
    number: Mapped[str | None] = mapped_column(String(16))
    division_code: Mapped[str] = mapped_column(String(6), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("divisions.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(100))
    floors: Mapped[int | None] = mapped_column(Integer)
    footprint: Mapped[MultiPolygon | None] = mapped_column(GeometryColumn("MULTIPOLYGON"))
    point: Mapped[Point] = mapped_column(GeometryColumn("POINT"))  # representative point, inside the footprint
    status: Mapped[str] = mapped_column(String(16), default=BuildingStatus.ACTIVE)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Where a retired building went when it was merged into another; a scan of its plate points there.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("buildings.id"))

    road: Mapped[Road | None] = relationship()
    community: Mapped[Division | None] = relationship()
    plate: Mapped["Plate | None"] = relationship(back_populates="building")
    merged_into: Mapped["Building | None"] = relationship(remote_side=[id])


class PlateSeries(Base):
    """The next serial a division code may issue; serials are never handed out twice."""

    __tablename__ = "plate_series"

    prefix: Mapped[str] = mapped_column(String(6), primary_key=True)
    next_serial: Mapped[int] = mapped_column(Integer, default=0)


class Plate(Base):
    """One plate ID per building, for good: retiring the building retires, never frees, the ID."""

    __tablename__ = "plates"
    __table_args__ = (
        UniqueConstraint("prefix", "serial", name="uq_plates_prefix_serial"),
        _enum_check("status", PlateStatus),
    )

    id: Mapped[str] = mapped_column(String(12), primary_key=True)  # canonical form
    prefix: Mapped[str] = mapped_column(String(6), ForeignKey("plate_series.prefix"))
    serial: Mapped[int] = mapped_column(Integer)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=PlateStatus.ISSUED)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    building: Mapped[Building] = relationship(back_populates="plate")


class PlateScan(Base):
    """How many times a plate's page was opened on a local day; nothing about who opened it."""

    __tablename__ = "plate_scans"

    plate_id: Mapped[str] = mapped_column(ForeignKey("plates.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class PrintBatch(Base):
    """One run of `plates print`: what was asked for and the archive sent to the manufacturer."""

    __tablename__ = "print_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)  # also the name of its folder and ZIP
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    selection: Mapped[str] = mapped_column(Text)  # the filters, as JSON
    formats: Mapped[str] = mapped_column(String(64))
    plate_count: Mapped[int] = mapped_column(Integer)
    archive: Mapped[str] = mapped_column(Text)  # where the ZIP was written


class PlatePrint(Base):
    """A plate printed in a batch, and where on which sheet; a reprint adds a row, never replaces one."""

    __tablename__ = "plate_prints"

    batch_id: Mapped[int] = mapped_column(ForeignKey("print_batches.id"), primary_key=True)
    plate_id: Mapped[str] = mapped_column(ForeignKey("plates.id"), primary_key=True, index=True)
    file: Mapped[str | None] = mapped_column(String(200))
    page: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)


class PoliceBeat(Base):
    """A community police beat (警务区) and the station it reports to."""

    __tablename__ = "police_beats"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    station: Mapped[str] = mapped_column(String(100))
    geom: Mapped[MultiPolygon] = mapped_column(GeometryColumn("MULTIPOLYGON"))

    officers: Mapped[list["Officer"]] = relationship(back_populates="beat", cascade="all, delete-orphan")


class Officer(Base):
    """A community police officer (社区民警); the phone is the beat's duty phone."""

    __tablename__ = "officers"

    id: Mapped[int] = mapped_column(primary_key=True)
    beat_id: Mapped[int] = mapped_column(ForeignKey("police_beats.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(32))

    beat: Mapped[PoliceBeat] = relationship(back_populates="officers")


class ServicePoint(Base):
    __tablename__ = "service_points"
    __table_args__ = (_enum_check("category", ServiceCategory),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[str] = mapped_column(String(64), unique=True)
    category: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(32))
    hours: Mapped[str | None] = mapped_column(String(100))
    geom: Mapped[Point] = mapped_column(GeometryColumn("POINT"))


class AssistanceOffice(Base):
    """Where a division's residents apply for social assistance (社会救助): a subdistrict's one-stop
    window (一门受理), a district's hotline, or both. A plate page shows its subdistrict's window and
    its district's hotline, each falling back to the other level and then to the city-wide settings."""

    __tablename__ = "assistance_offices"

    division_id: Mapped[int] = mapped_column(ForeignKey("divisions.id", ondelete="CASCADE"), primary_key=True)
    window_name: Mapped[str | None] = mapped_column(String(100))
    window_address: Mapped[str | None] = mapped_column(String(200))
    window_hours: Mapped[str | None] = mapped_column(String(100))
    window_phone: Mapped[str | None] = mapped_column(String(32))
    window_point: Mapped[Point | None] = mapped_column(GeometryColumn("POINT"))
    hotline: Mapped[str | None] = mapped_column(String(32))

    division: Mapped[Division] = relationship()


class CultureZone(Base):
    """A block or area with local-culture notes (街区特色)."""

    __tablename__ = "culture_zones"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    geom: Mapped[MultiPolygon] = mapped_column(GeometryColumn("MULTIPOLYGON"))


class CultureNote(Base):
    """A culture or place-name note (地名文化), attached to a road or to a zone."""

    __tablename__ = "culture_notes"
    __table_args__ = (
        CheckConstraint("(road_id IS NULL) <> (zone_id IS NULL)", name="culture_note_has_one_subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    road_id: Mapped[int | None] = mapped_column(ForeignKey("roads.id"), index=True)
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("culture_zones.id"), index=True)


class BuildingLink(Base):
    """What contains a building, computed when buildings or beats change (links.py)."""

    __tablename__ = "building_links"

    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"), primary_key=True)
    beat_id: Mapped[int | None] = mapped_column(ForeignKey("police_beats.id", ondelete="SET NULL"), index=True)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Copies of building_nearest ({category: [[service id, metres], …]}, nearest first) and
    # building_zones ([zone id, …]), so a scan reads one row instead of aggregating a dozen.
    nearest: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    zones: Mapped[list | None] = mapped_column(JSON(none_as_null=True))


class BuildingZone(Base):
    """A culture zone that contains a building."""

    __tablename__ = "building_zones"

    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"), primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("culture_zones.id", ondelete="CASCADE"), primary_key=True,
                                         index=True)


class BuildingNearest(Base):
    """One of a building's k nearest service points of a category by walking distance, rank 1 nearest."""

    __tablename__ = "building_nearest"

    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_point_id: Mapped[int] = mapped_column(ForeignKey("service_points.id", ondelete="CASCADE"), index=True)
    distance_m: Mapped[float] = mapped_column(Float)  # straight line (geodesic)
    # Along the streets, door to door; where the network does not join them (on_network false), the
    # straight line again. The rank is by this.
    walk_m: Mapped[float | None] = mapped_column(Float)
    on_network: Mapped[bool | None] = mapped_column(Boolean)


class SearchEntry(Base):
    """What search finds a standing plate by (store/search_entries.py keeps it in step with the registry): its address
    parts to show, and the keys: Chinese tokens, Pinyin and initials (gis/spelling.py). The text index over
    `py` and `ini` (FTS5's trigram tokenizer on SQLite, pg_trgm's GIN on PostGIS) is made by migration 0017."""

    __tablename__ = "search_entries"

    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"), primary_key=True,
                                             autoincrement=False)
    plate_id: Mapped[str] = mapped_column(String(12), unique=True)
    district: Mapped[str | None] = mapped_column(String(100))
    subdistrict: Mapped[str | None] = mapped_column(String(100))
    community: Mapped[str | None] = mapped_column(String(100))
    road: Mapped[str | None] = mapped_column(String(100))
    road_pinyin: Mapped[str | None] = mapped_column(String(200))
    number: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(100))
    longitude: Mapped[float] = mapped_column(Float)
    latitude: Mapped[float] = mapped_column(Float)
    zh: Mapped[str] = mapped_column(Text)
    py: Mapped[str] = mapped_column(Text)
    ini: Mapped[str] = mapped_column(Text)
    syllables: Mapped[str] = mapped_column(Text)


class Generations(Base):
    """One row counting committed changes to what workers keep in memory (see generations.py).

    `reference`: divisions, roads, beats, officers, service points and culture, shared by
    many buildings (the plate page's snapshot). A worker reloads its copy when it moves.
    """

    __tablename__ = "generations"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[int] = mapped_column(Integer, default=0)


class User(Base):
    """A staff user; residents never have an account."""

    __tablename__ = "users"
    __table_args__ = (_enum_check("role", Role),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Part of every signed-in session: bumping it (new password, deactivation) ends them all.
    session_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_signed_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A token a script sends as `Authorization: Bearer …`; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


class AuditEvent(Base):
    """Who did what to which record, when and why; rows are only ever added (triggers refuse the rest)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject", "subject_type", "subject_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))  # a username, or the command line, a resident, the system
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(32), index=True)
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(String(32))
    new_value: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[str | None] = mapped_column(Text)  # JSON


class ResidentReport(Base):
    """A resident's report of a damaged, missing or wrong plate or wrong information.

    Nothing about the resident is kept: no account, no address, no phone, no IP address.
    """

    __tablename__ = "resident_reports"
    __table_args__ = (_enum_check("kind", ReportKind), _enum_check("status", ReportStatus))

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket: Mapped[str] = mapped_column(String(16), unique=True)  # what the resident is given
    kind: Mapped[str] = mapped_column(String(32))
    plate_id: Mapped[str | None] = mapped_column(ForeignKey("plates.id"), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    longitude: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(Text)
    photo: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))  # JPEG, stripped of its metadata
    media_url: Mapped[str | None] = mapped_column(Text)  # a photo held by the system that sent the report
    source: Mapped[str] = mapped_column(String(32))  # "page", or the Open311 client's token name
    status: Mapped[str] = mapped_column(String(16), default=ReportStatus.RECEIVED, index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    public_notes: Mapped[str | None] = mapped_column(Text)  # what staff tell the resident
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    assignee: Mapped[User | None] = relationship()
    additions: Mapped[list["ReportAddition"]] = relationship(order_by="ReportAddition.id")


class ReportAddition(Base):
    """A second resident's word on an open report (此门牌已有人报告): a note or a photo, nothing about them."""

    __tablename__ = "report_additions"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("resident_reports.id", ondelete="CASCADE"), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    photo: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))  # JPEG, stripped of its metadata
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StaffJob(Base):
    """An import or print batch started from the staff pages, run in a process of its own."""

    __tablename__ = "staff_jobs"
    __table_args__ = (_enum_check("status", JobStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "import" or "print"
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    params: Mapped[str] = mapped_column(Text)  # JSON
    folder: Mapped[str] = mapped_column(Text)  # its upload, progress, report and log
    summary: Mapped[str | None] = mapped_column(Text)  # JSON: the summary's messages, counts, files
    error: Mapped[str | None] = mapped_column(Text)  # JSON: why it failed or was cancelled, a message
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    created_by: Mapped[User] = relationship()

    @property
    def failure(self) -> Message | None:
        """Why the job failed or was cancelled, to be read in the reader's language."""
        return Message.from_stored(self.error) if self.error else None
