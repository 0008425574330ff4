"""The standard address of a building, as plates, pages and print lists write it."""

from collections.abc import Mapping


def format_address(config: Mapping, district: str | None, subdistrict: str | None, community: str | None,
                   road: str | None, number: str | None, name: str | None) -> tuple[str, str]:
    """The full standard address (province down to door) and its short form (road, number, name)."""
    short = (road or "") + (f"{number}号" if number else "") + (f" {name}" if name else "")
    parts = [config["PROVINCE"], config["CITY"], district, subdistrict, community]
    return "".join(part for part in parts if part) + short, short
