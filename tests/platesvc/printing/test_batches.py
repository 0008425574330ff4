"""Print batches on every backend: selection and order, the ZIP, the record, reuse, refusals, and
every printed code read back by a real decoder from the rasterised PDF."""

import csv
import io
import subprocess
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import zxingcpp
from openpyxl import load_workbook
from PIL import Image, ImageDraw, ImageFilter
from sqlalchemy import func, select

from platesvc.printing import batches
from platesvc.printing.artwork import MIN_QR_VERSION, PlateStyle, PrintError
from platesvc.printing.batches import PrintSettings, Selection, print_plates
from platesvc.store.database import db
from platesvc.store.models import (
    Building,
    Division,
    Plate,
    PlatePrint,
    PlateStatus,
    PrintBatch,
    Road,
)
from tests.conftest import _environment

DECODER_DPI = 150


def _settings(**changes) -> PrintSettings:
    return PrintSettings(**{"style": PlateStyle(), "formats": batches.DEFAULT_FORMATS, **changes})


def _smallest_roads(count: int, at_least: int = 5) -> list[str]:
    """The roads with the fewest plates (but `at_least`), so a batch stays small."""
    sizes = db.session.execute(select(Road.name, func.count()).join(Building, Building.road_id == Road.id)
                               .group_by(Road.name).having(func.count() >= at_least)
                               .order_by(func.count(), Road.name)).all()
    return [name for name, _ in sizes[:count]]


def _road_plates(road: str) -> list[tuple[str, str]]:
    return db.session.execute(select(Plate.id, Building.number).join(Building, Building.id == Plate.building_id)
                              .join(Road, Road.id == Building.road_id).where(Road.name == road)).all()


def _statuses(plate_ids) -> Counter:
    return Counter(db.session.scalars(select(Plate.status).where(Plate.id.in_(list(plate_ids)))))


def test_a_road_batch_holds_everything_the_manufacturer_needs(issued_app, plate_font, tmp_path):
    [road] = _smallest_roads(1)
    plates = dict(_road_plates(road))
    result = print_plates(db.session, issued_app.config, tmp_path, Selection(road=road), _settings())
    assert result.printed == len(plates) and not result.refused and result.files == 1
    with zipfile.ZipFile(result.archive) as bundle:
        names = set(bundle.namelist())
        folder = result.batch_name
        assert {f"{folder}/manifest.csv", f"{folder}/manifest.xlsx"} <= names
        [pdf] = [name for name in names if name.endswith(".pdf")]
        assert pdf.startswith(f"{folder}/pdf/0001-") and pdf.isascii()
        assert {name.rsplit("/", 1)[1] for name in names if name.endswith(".svg")} == {f"{p}.svg" for p in plates}
        assert bundle.read(pdf).startswith(b"%PDF")
        manifest = list(csv.DictReader(io.TextIOWrapper(bundle.open(f"{folder}/manifest.csv"), "utf-8-sig")))
        sheet = load_workbook(io.BytesIO(bundle.read(f"{folder}/manifest.xlsx")), read_only=True).active
        spreadsheet = list(sheet.iter_rows(values_only=True))
    assert [row["plate_id"] for row in manifest] == [row[0] for row in spreadsheet[1:]]
    assert set(spreadsheet[0]) == set(manifest[0])
    assert {row["plate_id"] for row in manifest} == set(plates)
    first = manifest[0]
    assert first["url"] == f"HTTPS://PLATES.EXAMPLE/P/{first['plate_id']}"
    assert first["road"] == road and road in first["address"] and first["address"].startswith("宁夏回族自治区银川市")
    assert first["file"] == pdf.removeprefix(f"{folder}/") and first["sheet"] == "A1"
    assert 105 < float(first["longitude"]) < 107 and 37 < float(first["latitude"]) < 40
    # Walking order: one side of the street (odd numbers), rising, then the other.
    numbers = [int(row["number"]) for row in manifest]
    odd, even = [n for n in numbers if n % 2], [n for n in numbers if not n % 2]
    assert numbers == odd + even and odd == sorted(odd) and even == sorted(even)
    assert [(int(row["page"]), int(row["position"])) for row in manifest[:5]] == [
        (1, 1), (1, 2), (1, 3), (1, 4), (2, 1)][:len(manifest)]
    # Recorded in one go: the batch, each plate's place, and the status.
    batch = db.session.scalars(select(PrintBatch)).one()
    assert (batch.name, batch.plate_count, batch.archive) == (result.batch_name, len(plates), str(result.archive))
    assert db.session.scalar(select(func.count()).select_from(PlatePrint)) == len(plates)
    assert _statuses(plates) == Counter({PlateStatus.PRINTED: len(plates)})


def test_a_district_or_community_batch_holds_exactly_its_plates(issued_app, plate_font, tmp_path):
    community_id, community, count = db.session.execute(
        select(Building.community_id, Division.name, func.count()).join(Division, Division.id == Building.community_id)
        .group_by(Building.community_id, Division.name).order_by(func.count()).limit(1)).one()
    district = db.session.scalar(select(Building.division_code).where(Building.community_id == community_id))
    result = print_plates(db.session, issued_app.config, tmp_path, Selection(district=district, community=community),
                          _settings(formats=("csv",)))
    expected = set(db.session.scalars(select(Plate.id).join(Building).where(Building.community_id == community_id)))
    rows = list(csv.DictReader((result.folder / "manifest.csv").open(encoding="utf-8-sig")))
    assert {row["plate_id"] for row in rows} == expected and len(expected) == count
    assert {row["community"] for row in rows} == {community} and not rows[0]["file"]
    elsewhere = print_plates(db.session, issued_app.config, tmp_path, Selection(district=district), _settings(
        formats=("csv",)))
    rows = list(csv.DictReader((elsewhere.folder / "manifest.csv").open(encoding="utf-8-sig")))
    assert rows and all(row["plate_id"].startswith(district) for row in rows)
    assert not expected & {row["plate_id"] for row in rows}  # already printed: status issued only


def test_every_printed_code_decodes_to_its_plate_url_and_resolves(issued_app, client, plate_font,
                                                                   tmp_path, pdftoppm):
    roads = _smallest_roads(2)
    chosen = [plate_id for road in roads for plate_id, _ in _road_plates(road)[:5]]
    result = print_plates(db.session, issued_app.config, tmp_path, Selection(plate_ids=tuple(chosen)),
                          _settings(formats=("pdf", "csv")))
    assert result.printed == len(chosen) and result.files == 2
    expected = {row["url"] for row in csv.DictReader((result.folder / "manifest.csv").open(encoding="utf-8-sig"))}
    decoded, symbols = [], []
    for pdf in sorted((result.folder / "pdf").glob("*.pdf")):
        subprocess.run([pdftoppm, "-r", str(DECODER_DPI), "-gray", "-png", pdf, tmp_path / pdf.stem], check=True)
        for page in sorted(tmp_path.glob(f"{pdf.stem}-*.png")):
            image = Image.open(page)
            for barcode in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):
                assert barcode.ec_level == "Q"
                decoded.append(barcode.text)
                symbols.append((image, barcode.position, barcode.text))
    assert sorted(decoded) == sorted(expected)
    for url in decoded:
        answer = client.get(urlsplit(url).path, base_url="https://plates.example")
        assert answer.status_code == 200
        assert urlsplit(url).path.rsplit("/", 1)[1] in answer.get_data(as_text=True).replace("-", "")
    # A plate outdoors gets dirty and out of focus: the default level must still read it.
    for image, position, url in symbols:
        assert _decode(_blurred(image, position)) == url
        assert _decode(_covered(image, position, 0.15)) == url


def _symbol_box(position) -> tuple[int, int, int, int]:
    xs = [position.top_left.x, position.top_right.x, position.bottom_left.x, position.bottom_right.x]
    ys = [position.top_left.y, position.top_right.y, position.bottom_left.y, position.bottom_right.y]
    return min(xs), min(ys), max(xs), max(ys)


def _crop(image, position):
    left, top, right, bottom = _symbol_box(position)
    margin = (right - left) // 4  # keep the quiet zone
    return image.crop((left - margin, top - margin, right + margin, bottom + margin)), margin


def _blurred(image, position):
    symbol, margin = _crop(image, position)
    module = (symbol.width - 2 * margin) / (17 + 4 * MIN_QR_VERSION)
    return symbol.filter(ImageFilter.GaussianBlur(radius=module / 3))


def _covered(image, position, share: float):
    """A dark blot over `share` of the symbol's area, on its middle (finder patterns left clear)."""
    symbol, margin = _crop(image, position)
    side = (symbol.width - 2 * margin) * share ** 0.5
    middle = symbol.width / 2
    symbol = symbol.copy()
    ImageDraw.Draw(symbol).rectangle([middle - side / 2, middle - side / 2, middle + side / 2, middle + side / 2],
                                     fill=0)
    return symbol


def _decode(image) -> str | None:
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return found[0].text if found else None


def test_a_rerun_reuses_artwork_and_a_reprint_carries_the_same_code(issued_app, plate_font, tmp_path):
    [road] = _smallest_roads(1)
    first = print_plates(db.session, issued_app.config, tmp_path, Selection(road=road), _settings())
    assert first.encoded == first.printed and first.reused == 0
    reprint = print_plates(db.session, issued_app.config, tmp_path,
                           Selection(road=road, statuses=("printed",)), _settings())
    assert reprint.encoded == 0 and reprint.reused == first.printed
    assert reprint.batch_name != first.batch_name
    for svg in (first.folder / "svg").rglob("*.svg"):
        again = reprint.folder / svg.relative_to(first.folder)
        assert again.read_bytes() == svg.read_bytes()
    assert (next((reprint.folder / "pdf").glob("*.pdf")).read_bytes()
            == next((first.folder / "pdf").glob("*.pdf")).read_bytes())
    assert db.session.scalar(select(func.count()).select_from(PlatePrint)) == 2 * first.printed


def test_a_failed_batch_changes_nothing_and_the_rerun_picks_up_its_artwork(issued_app, plate_font,
                                                                           tmp_path, monkeypatch):
    [road] = _smallest_roads(1)
    plates = dict(_road_plates(road))

    def disk_full(folder, archive):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(batches, "_zip_folder", disk_full)
    with pytest.raises(OSError):
        print_plates(db.session, issued_app.config, tmp_path, Selection(road=road), _settings())
    assert _statuses(plates) == Counter({PlateStatus.ISSUED: len(plates)})
    assert db.session.scalar(select(func.count()).select_from(PrintBatch)) == 0
    monkeypatch.undo()
    result = print_plates(db.session, issued_app.config, tmp_path, Selection(road=road), _settings())
    assert result.reused == len(plates) and result.encoded == 0
    assert _statuses(plates) == Counter({PlateStatus.PRINTED: len(plates)})


def test_plates_that_cannot_be_printed_are_listed_with_the_reason(issued_app, plate_font, tmp_path):
    [road] = _smallest_roads(1)
    plates = [plate_id for plate_id, _ in _road_plates(road)]
    no_number, odd_road = plates[0], plates[1]
    building = db.session.scalars(select(Building).join(Plate).where(Plate.id == no_number)).one()
    building.number = None
    moved = db.session.scalars(select(Building).join(Plate).where(Plate.id == odd_road)).one()
    strange = Road(source_id="strange", name="\U000F0001街", pinyin="Jie", geom=moved.road.geom)
    db.session.add(strange)
    db.session.flush()
    moved.road_id = strange.id
    db.session.commit()
    result = print_plates(db.session, issued_app.config, tmp_path,
                          Selection(plate_ids=(*plates[:4], "640104-00C1S-M")), _settings(formats=("pdf",)))
    reasons = {plate_id: str(reason) for plate_id, reason in result.refused}
    assert "has no door number" in reasons[no_number]
    assert "cannot draw \U000F0001" in reasons[odd_road]
    assert "No such plate" in reasons["64010400C1SM"]
    assert result.printed == 2
    assert _statuses([no_number, odd_road]) == Counter({PlateStatus.ISSUED: 2})
    again = print_plates(db.session, issued_app.config, tmp_path, Selection(plate_ids=tuple(plates[2:5])),
                         _settings(formats=("pdf",)))
    assert "choose that status too" in str(dict(again.refused)[plates[2]]) and again.printed == 1


def test_bad_settings_are_refused_before_anything_is_drawn(issued_app, plate_font, tmp_path):
    [road] = _smallest_roads(1)
    with pytest.raises(PrintError, match="No plates to print"):
        print_plates(db.session, issued_app.config, tmp_path / "out", Selection(road="没有这条路"), _settings())
    with pytest.raises(PrintError, match="does not fit"):
        print_plates(db.session, issued_app.config, tmp_path / "out", Selection(road=road), _settings(sheet="A4"))
    with pytest.raises(PrintError, match="mistyped"):
        print_plates(db.session, issued_app.config, tmp_path / "out", Selection(plate_ids=("640104-00C1S-N",)),
                     _settings())
    issued_app.config["PUBLIC_URL"] = "https://plates.example/door"
    with pytest.raises(Exception, match="only scheme and host"):
        print_plates(db.session, issued_app.config, tmp_path / "out", Selection(road=road), _settings())
    assert not (tmp_path / "out").exists()
    assert _statuses(p for p, _ in _road_plates(road)) == Counter({PlateStatus.ISSUED: len(_road_plates(road))})


def test_workers_in_parallel_give_the_same_batch(issued_app, plate_font, tmp_path):
    roads = _smallest_roads(3)
    selection = Selection(plate_ids=tuple(p for road in roads for p, _ in _road_plates(road)[:3]))
    result = print_plates(db.session, issued_app.config, tmp_path / "parallel", selection,
                          _settings(workers=2, formats=("pdf", "svg", "png", "csv")))
    assert result.files == 3 and result.printed == len(selection.plate_ids)
    serial = print_plates(db.session, issued_app.config, tmp_path / "serial",
                          Selection(plate_ids=selection.plate_ids, statuses=("printed",)),
                          _settings(formats=("pdf", "svg", "png", "csv")))
    for kind in ("pdf", "svg", "png"):
        files = sorted(p.relative_to(result.folder) for p in (result.folder / kind).rglob(f"*.{kind}"))
        assert files == sorted(p.relative_to(serial.folder) for p in (serial.folder / kind).rglob(f"*.{kind}"))
        assert all((result.folder / f).read_bytes() == (serial.folder / f).read_bytes() for f in files)
    assert len(list((result.folder / "png").rglob("*.png"))) == result.printed


def test_the_print_command_explains_itself_and_summarises(issued_app, runner, plate_font, tmp_path):
    help_text = runner.invoke(args=["plates", "print", "--help"]).output
    for option in ("--out", "--district", "--road", "--community", "--status", "--format", "--workers", "--sheet"):
        assert option in help_text
    [road] = _smallest_roads(1)
    count = len(_road_plates(road))
    result = runner.invoke(args=["plates", "print", "--out", str(tmp_path), "--road", road, "--workers", "1",
                                 "--format", "pdf,csv"])
    assert result.exit_code == 0, result.output
    assert f"Printed {count} plates in 1 files" in result.output
    assert ".zip" in result.output and "issued plates are now printed" in result.output
    nothing = runner.invoke(args=["plates", "print", "--out", str(tmp_path), "--road", road])
    assert nothing.exit_code == 1 and "No plates to print" in nothing.output
    bad = runner.invoke(args=["plates", "print", "--out", str(tmp_path), "--format", "pdf,jpeg"])
    assert bad.exit_code == 2 and "jpeg" in bad.output


def test_roads_of_one_name_in_two_districts_are_two_files(issued_app, plate_font, tmp_path):
    roads = db.session.execute(select(Road.id, Road.name, Building.division_code).join(
        Building, Building.road_id == Road.id).distinct().order_by(Building.division_code, Road.id)).all()
    first, second = roads[0], roads[-1]
    assert first.division_code != second.division_code
    db.session.get(Road, second.id).name = first.name
    db.session.commit()
    result = print_plates(db.session, issued_app.config, tmp_path, Selection(road=first.name),
                          _settings(formats=("pdf", "csv")))
    assert result.files == 2
    rows = list(csv.DictReader((result.folder / "manifest.csv").open(encoding="utf-8-sig")))
    by_file = {}
    for row in rows:
        by_file.setdefault(row["file"], set()).add(row["district"])
    assert sorted(len(districts) for districts in by_file.values()) == [1, 1]


def test_clearing_unfinished_batches_never_removes_one_being_made_or_made(issued_app, plate_font, tmp_path):
    """A reaper clears away what killed printers left, while another printer (a real process) makes its batch:
    it took that batch's files (its snapshot had not seen the batch recorded, or it was still being drawn), and
    the batch was recorded without them."""
    out = tmp_path / "prints"
    road = _smallest_roads(1)[0]
    killed = out / "batch-20200101-000000"  # what a printer killed long ago left
    killed.mkdir(parents=True)
    (out / "batch-20200101-000000.zip").write_bytes(b"partial")
    db.session.scalar(select(func.count()).select_from(PrintBatch))  # a transaction begun before the batch is made
    printer = subprocess.Popen([sys.executable, "-m", "platesvc", "plates", "print", "--out", str(out), "--road", road,
                                "--format", "pdf,csv"], env=_environment(issued_app), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True)
    removed = []
    while printer.poll() is None:
        removed += batches.remove_unfinished(db.session, out)
        time.sleep(0.02)
    removed += batches.remove_unfinished(db.session, out)  # once more, made and recorded
    assert printer.wait() == 0, printer.stdout.read().decode()
    db.session.rollback()
    made = db.session.scalars(select(PrintBatch)).one()
    assert removed == [killed.name] and not killed.exists()
    assert Path(made.archive).exists() and (out / made.name / "manifest.csv").exists()
    assert not list(out.glob(".*.lock"))
