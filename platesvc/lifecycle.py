"""Changes in a building's life that its plate follows."""

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from platesvc.models import Building, BuildingStatus, PlateStatus


def retire_building(session: Session, building: Building, merged_into: Building | None = None) -> None:
    """Mark a building demolished (or merged into another); its plate is retired, its ID kept for good."""
    now = datetime.now(UTC)
    building.status = BuildingStatus.RETIRED
    building.retired_at = now
    building.merged_into = merged_into
    if building.plate is not None:
        building.plate.status = PlateStatus.RETIRED
        building.plate.status_changed_at = now
