"""Changes in a building's life that its plate follows."""

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from platesvc.models import Building, BuildingStatus, PlateStatus


def retire_building(session: Session, building: Building) -> None:
    """Mark a building demolished; its plate is retired and its ID stays reserved for good."""
    now = datetime.now(UTC)
    building.status = BuildingStatus.RETIRED
    building.retired_at = now
    if building.plate is not None:
        building.plate.status = PlateStatus.RETIRED
        building.plate.status_changed_at = now
