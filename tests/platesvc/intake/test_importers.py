"""Importing staff files on every backend: formats, refusals, repairs, re-imports, dry runs, failures."""

import csv
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from openpyxl import load_workbook
from sqlalchemy import func, select

from platesvc import spreadsheets
from platesvc.errors import DataError
from platesvc.intake import importers
from platesvc.reference import links
from platesvc.registry import lifecycle
from platesvc.registry.plate_ids import issue_plates
from platesvc.store.database import db
from platesvc.store.models import (
    Building,
    BuildingNearest,
    BuildingStatus,
    CultureNote,
    Division,
    Plate,
    PlateStatus,
    PoliceBeat,
    Road,
    ServicePoint,
    StreetEdge,
)

CATEGORY_NAMES = {"elderly_care": "养老服务中心", "day_care": "日间照料中心", "meal_point": "老年助餐点",
                  "assistance_station": "社会救助站"}
BUILDING_COLUMNS = {"source_id": "编号", "road": "路名", "number": "门牌号", "floors": "层数", "name": "名称"}


def _write_buildings(buildings: gpd.GeoDataFrame, path: Path) -> Path:
    """As a Chinese desktop GIS would: Gauss-Kruger CGCS2000, GBK text, no .cpg."""
    buildings = buildings[list(BUILDING_COLUMNS) + ["geometry"]].rename(columns=BUILDING_COLUMNS)
    buildings.to_crs("EPSG:4544").to_file(path, encoding="GBK")
    path.with_suffix(".cpg").unlink()
    return path


@pytest.fixture(scope="session")
def city_files(small_city, tmp_path_factory) -> dict[str, Path]:
    """The small demo city as the files the GIS desks hand over, one format each."""
    folder = tmp_path_factory.mktemp("city_files")
    files = {"divisions": folder / "divisions.gpkg", "roads": folder / "roads.geojson",
             "buildings": folder / "门牌.shp", "services": folder / "services.csv",
             "beats": folder / "beats.gpkg", "zones": folder / "zones.geojson", "road_notes": folder / "notes.xlsx"}
    small_city.divisions.to_file(files["divisions"], layer="divisions")
    small_city.roads.to_file(files["roads"])
    _write_buildings(small_city.buildings, files["buildings"])
    services = small_city.services
    pd.DataFrame({"编号": services["source_id"], "名称": services["name"],
                  "类别": services["category"].map(CATEGORY_NAMES), "电话": services["phone"],
                  "开放时间": services["hours"], "经度": services.geometry.x, "纬度": services.geometry.y}
                 ).to_csv(files["services"], index=False, encoding="gbk")
    small_city.beats.to_file(files["beats"])
    culture = small_city.culture
    culture[culture.geometry.notna()].to_file(files["zones"])
    notes = pd.DataFrame(culture[culture.geometry.isna()].drop(columns="geometry"))
    gpd.GeoDataFrame(notes).to_file(files["road_notes"], driver="XLSX")
    return files


def _import(kind, path, **options):
    return importers.import_file(db.session, kind, path, **options)


def _import_city(files):
    for kind, name in [("divisions", "divisions"), ("roads", "roads"), ("buildings", "buildings"),
                       ("services", "services"), ("beats", "beats"), ("culture", "zones"),
                       ("culture", "road_notes")]:
        result = _import(kind, files[name])
        assert result.refused == 0, result.rows[:5]


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _plates_by_source() -> dict[str, str]:
    return dict(db.session.execute(select(Building.source_id, Plate.id).join(Plate.building)).all())


def test_every_kind_imports_from_the_formats_desks_use(app, small_city, city_files, client):
    _import_city(city_files)
    assert _count(Division) == len(small_city.divisions)
    assert _count(Road) == len(small_city.roads)
    assert _count(Building) == len(small_city.buildings)
    assert _count(ServicePoint) == len(small_city.services)
    assert _count(PoliceBeat) == len(small_city.beats)
    assert _count(CultureNote) == len(small_city.culture)
    stored = dict(db.session.execute(select(Building.source_id, Building.point)).all())
    expected = small_city.buildings.geometry.representative_point()
    for source_id, point in list(zip(small_city.buildings["source_id"], expected))[::50]:
        assert stored[source_id].distance(point) < 1e-5  # about a metre, after Gauss-Kruger and back
    building = db.session.scalars(select(Building).where(
        Building.source_id == small_city.buildings.iloc[0]["source_id"])).one()
    assert building.road.name == small_city.buildings.iloc[0]["road"]  # GBK text read right
    issue_plates(db.session)
    plate = db.session.scalar(select(Plate.id).limit(1))
    document = client.get(f"/api/v1/plates/{plate}").json
    assert document["police"] and all(document["nearest"].values())


def test_refused_and_repaired_rows_are_reported_and_the_rest_go_in(app, small_city, city_files, tmp_path):
    _import(kind="divisions", path=city_files["divisions"])
    _import(kind="roads", path=city_files["roads"])
    buildings = small_city.buildings.iloc[:40].astype({"floors": object, "number": object})
    x, y = buildings.geometry.iloc[0].centroid.coords[0]
    bowtie = shapely.Polygon([(x, y), (x + 1e-4, y + 1e-4), (x + 1e-4, y), (x, y + 1e-4)])
    buildings.loc[buildings.index[0], "geometry"] = bowtie
    buildings.loc[buildings.index[1], "geometry"] = shapely.Polygon()
    buildings.loc[buildings.index[3], "source_id"] = buildings.iloc[2]["source_id"]
    buildings.loc[buildings.index[4], "number"] = None
    buildings.loc[buildings.index[4], "source_id"] = '=HYPERLINK("http://evil.example")'  # a formula to Excel
    buildings.loc[buildings.index[5], "geometry"] = shapely.box(120.0, 30.0, 120.0001, 30.0001)
    buildings.loc[buildings.index[6], "geometry"] = shapely.LineString([(x, y), (x + 1e-4, y)])
    buildings.loc[buildings.index[7], "floors"] = "高层"
    buildings.loc[buildings.index[8], "floors"] = "²"  # a digit to str.isdigit, and no number to int()
    path = tmp_path / "buildings.gpkg"
    buildings.astype({"floors": str}).to_file(path)  # a text column, as hand-edited tables have

    result = _import("buildings", path)
    reasons = {note.row: (note.action, str(note.reason)) for note in result.rows}
    assert reasons[1][0] == "repaired" and "Self-intersection" in reasons[1][1]
    assert reasons[2] == ("refused", "It has no geometry (empty, missing or unreadable coordinates).")
    assert reasons[3][0] == reasons[4][0] == "refused" and "rows 3, 4" in reasons[3][1]
    assert reasons[5] == ("refused", "Door number is missing.")
    assert reasons[6] == ("refused", "It lies outside every division of the city.")
    assert reasons[7][0] == "refused" and "not a line" in reasons[7][1]
    assert reasons[8][0] == reasons[9][0] == "refused" and "whole number" in reasons[9][1]
    assert result.refused == 8 and result.imported == 32
    assert result.read == result.imported + result.updated + result.refused == 40
    assert _count(Building) == 32

    refusals_csv = tmp_path / "report.csv"
    with open(refusals_csv, "wb") as out:
        spreadsheets.write_rows(spreadsheets.note_rows(sorted(result.rows, key=lambda note: note.row)), out, "csv")
    with open(refusals_csv, encoding="utf-8-sig") as rows:
        written = list(csv.DictReader(rows))
    assert [int(row["Row"]) for row in written] == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert written[4]["Code in the file"] == "'" + '=HYPERLINK("http://evil.example")'  # shown as text, never run
    refusals_xlsx = tmp_path / "report.xlsx"  # the job page's Excel download, written as it writes it
    with open(refusals_xlsx, "wb") as out:
        spreadsheets.write_rows(spreadsheets.note_rows(sorted(result.rows, key=lambda note: note.row)), out, "xlsx")
    formula = load_workbook(refusals_xlsx).active.cell(6, 2)
    assert (formula.value, formula.data_type, formula.quotePrefix) == ('=HYPERLINK("http://evil.example")', "s", True)


def test_a_reimport_updates_in_place_and_never_changes_a_plate_id(app, small_city, city_files, tmp_path):
    _import_city(city_files)
    issue_plates(db.session)
    before = _plates_by_source()
    buildings = small_city.buildings.copy()
    buildings.loc[buildings.index[0], "number"] = "999"
    moved = buildings.index[1]
    buildings.loc[moved, "geometry"] = shapely.affinity.translate(buildings.loc[moved, "geometry"], 2e-4, 0)
    unnamed = buildings.index[2:12]
    kept_by_footprint = list(buildings.loc[unnamed, "source_id"])
    buildings.loc[unnamed, "source_id"] = None  # matched by footprint instead
    dropped = list(buildings.iloc[-5:]["source_id"])
    buildings = buildings.iloc[:-5]
    path = _write_buildings(buildings, tmp_path / "again.shp")

    result = _import("buildings", path)
    assert result.imported == 0 and result.updated == len(buildings) and result.refused == 0
    assert result.unchanged == len(buildings) - 2
    assert sorted(result.missing) == sorted(dropped)
    after = _plates_by_source()
    assert after == before  # same buildings, same plates, nothing retired yet
    assert set(kept_by_footprint) <= set(after)
    first = db.session.scalars(select(Building).where(
        Building.source_id == small_city.buildings.iloc[0]["source_id"])).one()
    assert first.number == "999"

    result = _import("buildings", path, retire_missing=True)
    assert result.retired == 5
    for source_id in dropped:
        building = db.session.scalars(select(Building).where(Building.source_id == source_id)).one()
        assert building.status == BuildingStatus.RETIRED and building.plate.status == PlateStatus.RETIRED
        assert building.plate.id == before[source_id]
    assert _plates_by_source() == before


def test_a_dry_run_reports_everything_and_writes_nothing(app, small_city, city_files):
    _import("divisions", city_files["divisions"])
    _import("roads", city_files["roads"])
    result = _import("buildings", city_files["buildings"], dry_run=True)
    assert result.dry_run and result.imported == len(small_city.buildings)
    assert _count(Building) == 0 and _count(BuildingNearest) == 0


def test_a_failed_import_leaves_no_trace(app, city_files, monkeypatch):
    _import("divisions", city_files["divisions"])
    _import("roads", city_files["roads"])

    def fail(*_args, **_kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(links, "refresh_links", fail)
    with pytest.raises(RuntimeError):
        _import("buildings", city_files["buildings"])
    db.session.remove()
    assert _count(Building) == 0


def test_whole_file_problems_are_refused_with_a_message(app, city_files, tmp_path):
    with pytest.raises(DataError, match="import the divisions first"):
        _import("buildings", city_files["buildings"])
    _import("divisions", city_files["divisions"])
    with pytest.raises(DataError, match="no column for Door number: choose which column"):
        _import("buildings", city_files["roads"])
    with pytest.raises(DataError, match="have no field colour"):
        _import("buildings", city_files["buildings"], fields={"colour": "x"})
    with pytest.raises(DataError, match="2 layers|no layer"):
        _import("roads", city_files["divisions"], layer="roads")


def test_the_command_maps_fields_and_writes_its_report(app, runner, small_city, city_files, tmp_path):
    assert runner.invoke(args=["import", "divisions", str(city_files["divisions"])]).exit_code == 0
    assert runner.invoke(args=["import", "roads", str(city_files["roads"])]).exit_code == 0
    buildings = small_city.buildings.iloc[:30].rename(columns={"number": "MPH"})
    buildings.loc[buildings.index[0], "MPH"] = None
    path = tmp_path / "odd_names.geojson"
    buildings.to_file(path)
    refusals_path = tmp_path / "report.csv"
    result = runner.invoke(args=["import", "buildings", str(path), "--field", "number=MPH", "--dry-run",
                                 "--refused", str(refusals_path)])
    assert result.exit_code == 0, result.output
    assert "30 rows read; 29 new, 0 updated, 1 refused" in result.output
    assert "Dry run: nothing was written" in result.output
    report = refusals_path.read_text(encoding="utf-8-sig")
    assert "1,DEMO-B000001,MPH,Refused,Door number is missing." in report
    bad = runner.invoke(args=["import", "buildings", str(path), "--field", "number"])
    assert bad.exit_code != 0 and "CANONICAL=COLUMN" in bad.output
    assert "Shapefile, GeoPackage, GeoJSON" in runner.invoke(args=["import", "--help"]).output


def test_retiring_missing_buildings_never_retires_a_refused_row(app, small_city, city_files, tmp_path):
    _import_city(city_files)
    buildings = small_city.buildings.astype({"number": object})
    buildings.loc[buildings.index[0], "number"] = None  # refused, but named: not missing
    path = tmp_path / "one_refused.gpkg"
    buildings.to_file(path)
    result = _import("buildings", path, retire_missing=True)
    assert result.refused == 1 and result.missing == [] and result.retired == 0

    buildings.loc[buildings.index[1], "source_id"] = None
    buildings.loc[buildings.index[1], "number"] = None  # refused, and no telling which building it is
    buildings.to_file(path)
    with pytest.raises(DataError, match="have no code.*without retiring"):
        _import("buildings", path, retire_missing=True)
    assert _count(Building) == len(small_city.buildings)


def test_two_rows_cannot_claim_one_building(app, small_city, city_files, tmp_path):
    _import_city(city_files)
    buildings = small_city.buildings.iloc[:10].copy()
    twin = buildings.iloc[[0]].copy()
    buildings = pd.concat([buildings, twin, twin])
    buildings.iloc[-2:, buildings.columns.get_loc("source_id")] = None
    path = tmp_path / "twins.gpkg"
    gpd.GeoDataFrame(buildings, crs="EPSG:4326").to_file(path)
    result = _import("buildings", path)
    assert result.refused == 2 and result.updated == 10
    assert all("already puts building" in str(note.reason) for note in result.rows if note.action == "refused")


def test_a_reimport_keeps_what_the_file_does_not_carry(app, small_city, city_files, tmp_path):
    _import_city(city_files)
    source_id = small_city.buildings.iloc[0]["source_id"]
    floors = db.session.scalars(select(Building.floors).where(Building.source_id == source_id)).one()
    slim = small_city.buildings.iloc[:5].drop(columns=["floors", "name"]).copy()
    slim.loc[slim.index[1], "road"] = "不存在路"
    path = tmp_path / "slim.gpkg"
    slim.to_file(path)
    result = _import("buildings", path)
    assert db.session.scalars(select(Building.floors).where(Building.source_id == source_id)).one() == floors
    refused = [note for note in result.rows if note.action == "refused"]
    assert len(refused) == 1 and "Road 不存在路 is not in the registry" in str(refused[0].reason)
    assert result.roads_unknown == {"不存在路": 1} and result.updated == 4


def test_a_blanked_officer_leaves_the_beat(app, small_city, city_files, tmp_path, client):
    _import_city(city_files)
    beats = small_city.beats.copy()
    beats["officer"] = None
    path = tmp_path / "beats.gpkg"
    beats.to_file(path)
    _import("beats", path)
    issue_plates(db.session)
    plate = db.session.scalar(select(Plate.id).limit(1))
    police = client.get(f"/api/v1/plates/{plate}").json["police"]
    assert police["officer"] is None and police["officers"] == []
    assert 'href="tel:"' not in client.get(f"/P/{plate}").text


def test_a_field_named_by_staff_wins_over_a_recognised_column(app, small_city, tmp_path):
    frame = small_city.buildings.iloc[:3].rename(columns={"number": "编号", "source_id": "ID"})
    mapped = importers.map_fields(frame, "buildings", {"number": "编号", "source_id": "ID"})
    assert list(mapped["number"]) == list(small_city.buildings.iloc[:3]["number"])
    assert list(mapped["source_id"]) == list(small_city.buildings.iloc[:3]["source_id"])


def test_buildings_are_placed_again_when_boundaries_change(app, small_city, city_files):
    from platesvc.intake.loading import relocate_buildings

    _import_city(city_files)
    building = db.session.scalars(select(Building).order_by(Building.id)).first()
    right_community, right_district = building.community_id, building.division_code
    other = db.session.scalar(select(Division.id).where(Division.level == "community",
                                                        Division.id != right_community).limit(1))
    building.community_id, building.division_code = other, "640181" if right_district != "640181" else "640104"
    db.session.flush()
    assert relocate_buildings(db.session) == 1
    db.session.refresh(building)
    assert (building.community_id, building.division_code) == (right_community, right_district)
    assert relocate_buildings(db.session) == 0


def _awkward_buildings(small_city, retired_source_id: str) -> gpd.GeoDataFrame:
    """The small city's buildings as a desk might send them again, with something of every kind
    of trouble spread through the file: what a chunk boundary could split."""
    buildings = small_city.buildings.astype({"number": object}).copy()
    buildings.loc[buildings.index[0], "number"] = "999"  # changed
    buildings.loc[buildings.index[20:30], "source_id"] = None  # matched to the stored by footprint
    far_twin = buildings.iloc[[21]].copy()  # a second unnamed row on building 21, far down the file
    shared = buildings.iloc[[5]].copy()  # one key on two rows: both refused
    retired = buildings[buildings["source_id"] == retired_source_id].copy()
    new = buildings.iloc[[7]].copy()
    new["source_id"] = ["NEW-1"]
    new["geometry"] = [shapely.affinity.translate(new.geometry.iloc[0], 3e-4, 3e-4)]
    buildings.loc[buildings.index[8], "number"] = None  # refused: no door number
    buildings = buildings[buildings["source_id"] != retired_source_id].iloc[:-4]  # the last four are missing
    return gpd.GeoDataFrame(pd.concat([buildings, far_twin, shared, retired, new]), crs="EPSG:4326")


def test_a_file_read_in_chunks_imports_as_if_read_whole(app, small_city, city_files, tmp_path, monkeypatch):
    _import_city(city_files)
    issue_plates(db.session)
    retired = db.session.scalars(select(Building).order_by(Building.id).offset(40).limit(1)).one()
    from platesvc.registry import audit
    from platesvc.registry.lifecycle import retire_building
    retire_building(db.session, retired, audit.SYSTEM, "demolished")
    db.session.commit()
    before = _plates_by_source()
    path = tmp_path / "again.gpkg"
    _awkward_buildings(small_city, retired.source_id).to_file(path)

    whole = _import("buildings", path, dry_run=True)
    monkeypatch.setattr(importers, "IMPORT_CHUNK_ROWS", 40)
    chunked = _import("buildings", path)

    assert chunked.counts() == whole.counts() and chunked.unchanged == whole.unchanged
    assert sorted(map(vars, chunked.rows), key=str) == sorted(map(vars, whole.rows), key=str)
    assert chunked.missing == whole.missing and len(chunked.missing) == 4
    assert chunked.imported == 1 and chunked.refused == 5
    reasons = " | ".join(str(note.reason) for note in chunked.rows if note.action == "refused")
    assert reasons.count("which one is right?") == 2 and "already puts building" in reasons
    assert "was retired on" in reasons and "Door number is missing." in reasons
    after = _plates_by_source()
    assert {source: after[source] for source in before} == before  # no plate ID moved
    new = db.session.scalars(select(Building).where(Building.source_id == "NEW-1")).one()
    assert new.plate is None and db.session.scalar(select(func.count()).select_from(BuildingNearest)
                                                  .where(BuildingNearest.building_id == new.id)) > 0


def test_a_chunked_import_that_fails_late_leaves_no_trace(app, city_files, monkeypatch):
    _import("divisions", city_files["divisions"])
    _import("roads", city_files["roads"])
    monkeypatch.setattr(importers, "IMPORT_CHUNK_ROWS", 50)
    calls = []
    refresh = links.refresh_links

    def fail_on_the_third_chunk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the disk is full")
        return refresh(*args, **kwargs)

    monkeypatch.setattr(links, "refresh_links", fail_on_the_third_chunk)
    with pytest.raises(RuntimeError):
        _import("buildings", city_files["buildings"])
    db.session.remove()
    assert _count(Building) == 0 and _count(BuildingNearest) == 0
    monkeypatch.setattr(links, "refresh_links", refresh)
    assert _import("buildings", city_files["buildings"]).imported > 0  # nothing of the first is in its way


def _walks() -> list[tuple]:
    return sorted((row[0], row[1], row[2], row[3], round(row[4], 3), bool(row[5])) for row in db.session.execute(
        select(BuildingNearest.building_id, BuildingNearest.category, BuildingNearest.rank,
               BuildingNearest.service_point_id, BuildingNearest.walk_m, BuildingNearest.on_network)))


def test_imported_roads_make_the_street_network_and_a_moved_road_relinks_only_the_buildings_near_it(
        app, small_city, city_files, tmp_path):
    _import("divisions", city_files["divisions"])
    roads = _import("roads", city_files["roads"])
    assert any(note.text.startswith("The street network:") for note in roads.notes)
    assert _count(StreetEdge) > len(small_city.roads)  # split at every crossing
    for kind, name in [("buildings", "buildings"), ("services", "services")]:
        _import(kind, city_files[name])
    walked = db.session.scalar(select(func.count()).select_from(BuildingNearest)
                               .where(BuildingNearest.on_network.is_(True)))
    assert walked > 0.5 * _count(BuildingNearest)  # the walks appeared with the buildings

    shortest = small_city.roads.geometry.length.to_numpy().argmin()  # a road across the city reaches most of it
    moved = small_city.roads.iloc[[shortest]].copy()
    moved["geometry"] = moved.geometry.translate(0.0003, 0.0003)  # some 30 m north-east
    moved.to_file(tmp_path / "moved.geojson")
    result = _import("roads", tmp_path / "moved.geojson")
    relinked = [note for note in result.notes if "walks to their nearest services" in note.text]
    assert relinked and 0 < relinked[0].values["count"] < _count(Building)
    incremental = _walks()
    links.refresh_links(db.session, containment=False)
    assert _walks() == incremental  # exactly what a full recompute gives


SERVICES_HEADER = "编号,名称,类别,电话,开放时间,经度,纬度\n"


def test_a_value_longer_than_its_column_holds_is_refused_in_its_row(app, city_files, tmp_path):
    """Each field is capped at its column's length: PostgreSQL had failed the whole import on one long name
    (a 500 from the database), and SQLite had stored it as given."""
    _import("divisions", city_files["divisions"])
    path = tmp_path / "services.csv"
    path.write_text(SERVICES_HEADER + f"S-1,{'长' * 101},老年助餐点,0951-6000001,11:00-13:00,106.2781,38.4702\n"
                    f"S-2,凤凰助餐点,老年助餐点,{'9' * 33},11:00-13:00,106.2781,38.4702\n"
                    "S-3,凤凰助餐点,老年助餐点,0951-6000001,11:00-13:00,106.2781,38.4702\n", encoding="utf-8")
    result = _import("services", path)
    reasons = {note.row: (str(note.reason), note.column) for note in result.rows}
    assert reasons == {2: ("Name is 101 characters long: at most 100 fit.", "名称"),  # the file's column
                       3: ("Phone is 33 characters long: at most 32 fit.", "电话")}
    assert result.imported == 1 and _count(ServicePoint) == 1


def test_a_reference_file_of_more_rows_than_a_city_has_is_refused_as_it_is_read(app, tmp_path, monkeypatch):
    monkeypatch.setattr(importers, "REFERENCE_MAX_ROWS", 3)
    path = tmp_path / "services.csv"
    path.write_text(SERVICES_HEADER + "".join(f"S-{n},凤凰助餐点,老年助餐点,0951-6000001,11:00-13:00,106.2781,38.4702\n"
                                              for n in range(5)), encoding="utf-8")
    with pytest.raises(DataError, match="services.csv has more than 3 rows"):
        _import("services", path)
    assert _count(ServicePoint) == 0


def test_a_list_of_plates_is_refused_in_words_as_it_is_read(app, tmp_path, monkeypatch):
    """A list past its cap is refused before it is read whole, and a file gis refuses says why (it had been an
    AttributeError: the refusal's words were looked for where they are not)."""
    path = tmp_path / "list.csv"
    path.write_text("plate_id\n" + "".join(f"6401040A3KX{n}\n" for n in range(10)), encoding="utf-8")
    monkeypatch.setattr(lifecycle, "BULK_MAX_ROWS", 5)
    with pytest.raises(DataError, match="list.csv has more than 5 rows"):
        lifecycle.plate_ids_in_file(path)
    path.write_text("plate_id\n6401040A3KX1\n" + "x" * (2 ** 20 + 10) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 3 is over 1 MiB long"):
        lifecycle.plate_ids_in_file(path)
    path.write_text("plate_id\n6401040A3KX1," + "," * 500_000 + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 2 has 500,002 cells, but the first line names only 1 columns"):
        lifecycle.plate_ids_in_file(path)


def test_roads_created_for_a_buildings_file_are_walked_before_its_buildings_are_linked(app, small_city, city_files):
    _import("divisions", city_files["divisions"])
    _import("services", city_files["services"])
    result = _import("buildings", city_files["buildings"], create_roads=True)
    assert result.roads_created and _count(StreetEdge) > 0
    assert any(note.text.startswith("The street network:") for note in result.notes)
    walked = db.session.scalar(select(func.count()).select_from(BuildingNearest)
                               .where(BuildingNearest.on_network.is_(True)))
    assert walked > 0
