"""Plate artwork: the QR payload, the layout, and each writer (SVG, PNG, PDF), without a database."""

import dataclasses
import itertools
import subprocess
import xml.etree.ElementTree as ET

import pytest
import qrcode.util
import zxingcpp
from PIL import Image, ImageDraw

from platesvc.printing.artwork import (
    QUIET_ZONE,
    Box,
    FileJob,
    PlateStyle,
    PlateText,
    PrintError,
    QrCode,
    Sheet,
    Symbol,
    TextLine,
    compose,
    render_file,
    to_png,
    to_svg,
    write_pdf,
)
from platesvc.printing.outlines import FontError, OutlineFont, find_font
from platesvc.registry.plate_ids import parse_plate_id, plate_url

SVG = "{http://www.w3.org/2000/svg}"


def _text(plate_id="64010400C1SM", road="解放西街", pinyin="Jiefang Xijie", number="12") -> PlateText:
    return PlateText(plate_id, parse_plate_id(plate_id).display, plate_url("https://plates.example", plate_id),
                     road, pinyin, number, "兴庆区", "鼓楼社区")


def _artwork(font, text=None, style=None):
    text, style = text or _text(), style or PlateStyle()
    return compose(text, QrCode.encode(text.url, style.error_correction), style, font)


def _code_field(shapes) -> tuple[Box, Symbol]:
    """The symbol, and the white field under it: the smallest filled box holding its top-left module."""
    symbol = next(shape for shape in shapes if isinstance(shape, Symbol))
    holding = [shape for shape in shapes if isinstance(shape, Box) and not shape.line_width
               and shape.x <= symbol.x <= shape.x + shape.width and shape.y <= symbol.y <= shape.y + shape.height]
    return min(holding, key=lambda box: box.width * box.height), symbol


def test_the_payload_is_alphanumeric_mode_end_to_end():
    url = plate_url("https://plates.example", "64010400C1SM")
    assert url == "HTTPS://PLATES.EXAMPLE/P/64010400C1SM"
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_Q)
    code.add_data(url)
    code.make(fit=True)
    assert [segment.mode for segment in code.data_list] == [qrcode.util.MODE_ALPHA_NUM]


@pytest.mark.parametrize("level", ["Q", "H"])
def test_png_decodes_to_the_plate_url_at_the_chosen_error_correction(plate_font, tmp_path, level):
    artwork = _artwork(plate_font, style=PlateStyle(error_correction=level))
    to_png(artwork, tmp_path / "plate.png", dpi=100)
    [barcode] = zxingcpp.read_barcodes(Image.open(tmp_path / "plate.png"))
    assert barcode.text == "HTTPS://PLATES.EXAMPLE/P/64010400C1SM"
    assert barcode.ec_level == level


def test_a_reprint_carries_the_same_symbol(plate_font):
    assert QrCode.encode(_text().url) == QrCode.encode(_text().url)
    assert to_svg(_artwork(plate_font)) == to_svg(_artwork(plate_font))


def test_a_symbol_survives_the_trip_through_its_svg_path():
    code = QrCode.encode(_text().url)
    assert code.size == 49 and len(code.rows) == 49 and set("".join(code.rows)) == {"0", "1"}
    assert QrCode.from_svg_path(code.svg_path()) == code


def test_the_code_keeps_its_quiet_zone_on_a_white_field(plate_font):
    shapes = _artwork(plate_font).shapes
    field, symbol = _code_field(shapes)
    assert field.colour == "#FFFFFF"
    side = symbol.code.size * symbol.module
    quiet = QUIET_ZONE * symbol.module - 1e-9
    assert symbol.x - field.x >= quiet and field.x + field.width - (symbol.x + side) >= quiet
    assert symbol.y - field.y >= quiet
    # Nothing is drawn over the symbol or its quiet zone.
    later = shapes[shapes.index(symbol) + 1:]
    assert all(line.baseline - line.scale * plate_font.units_per_em > symbol.y + side + quiet for line in later
               if isinstance(line, TextLine))


def test_svg_is_standalone_vector_art_with_every_letter_outlined(plate_font):
    text = _text()
    svg = ET.fromstring(to_svg(_artwork(plate_font, text)))
    assert (svg.get("width"), svg.get("height"), svg.get("viewBox")) == ("300mm", "200mm", "0 0 300 200")
    assert svg.find(f"{SVG}title").text == "640104-00C1S-M 解放西街12号"
    assert svg.find(f"{SVG}desc").text == text.url
    # No <text> and no <image>: nothing needs a font or a raster.
    assert not list(svg.iter(f"{SVG}text")) and not list(svg.iter(f"{SVG}image"))
    fills = {element.get("fill") for element in svg.iter() if element.get("fill")}
    assert {"#0B4EA2", "#FFFFFF", "#000000"} <= fills


def test_size_and_colours_follow_the_style(plate_font):
    style = PlateStyle(width_mm=450, height_mm=300, ground="#006633", ink="#FFFF00")
    svg = ET.fromstring(to_svg(_artwork(plate_font, style=style)))
    assert svg.get("viewBox") == "0 0 450 300"
    fills = {element.get("fill") for element in svg.iter() if element.get("fill")}
    assert {"#006633", "#FFFF00"} <= fills and "#0B4EA2" not in fills


@pytest.mark.parametrize("road", ["文化街", "贺兰山中路", "宁夏回族自治区银川市兴庆区某某特别长的道路名称"])
def test_a_long_road_name_is_narrowed_then_shrunk_to_stay_clear_of_the_code(plate_font, road):
    artwork = _artwork(plate_font, _text(road=road))
    field, _ = _code_field(artwork.shapes)
    [line] = [shape for shape in artwork.shapes if isinstance(shape, TextLine) and shape.glyphs
              and shape.glyphs[0][1] == plate_font.glyph(road[0]) and len(shape.glyphs) == len(road)]
    right = line.x + plate_font.width(road) * line.scale * line.condense
    assert right < field.x
    assert line.condense >= 0.7


def test_style_and_sheet_settings_are_checked():
    with pytest.raises(PrintError, match="#RRGGBB"):
        PlateStyle(ground="blue")
    with pytest.raises(PrintError, match="L, M, Q, H"):
        PlateStyle(error_correction="X")
    with pytest.raises(PrintError, match="wider than"):
        PlateStyle.parse("200x300", "#0B4EA2", "#FFFFFF", "q")
    with pytest.raises(PrintError, match="WIDTHxHEIGHT"):
        PlateStyle.parse("big", "#0B4EA2", "#FFFFFF", "Q")
    assert Sheet.fitting("A1", PlateStyle()).per_page == 4
    assert Sheet.fitting("700x500", PlateStyle()).per_page == 4
    with pytest.raises(PrintError, match="does not fit"):
        Sheet.fitting("A4", PlateStyle())


def test_sheet_places_plates_in_reading_order_without_overlap():
    sheet = Sheet.fitting("A0", PlateStyle())
    corners = [sheet.trim_origin(position) for position in range(1, sheet.per_page + 1)]
    assert [sheet.place(index) for index in (0, sheet.per_page - 1, sheet.per_page)] == [
        (1, 1), (1, sheet.per_page), (2, 1)]
    for (x1, y1), (x2, y2) in itertools.pairwise(corners):
        assert (y2 > y1) or (y2 == y1 and x2 - x1 >= 300)
    assert all(0 < x and x + 300 < sheet.width_mm and 0 < y and y + 200 < sheet.height_mm for x, y in corners)


def test_pdf_draws_every_letter_as_outlines(plate_font, tmp_path, pdftoppm):
    artworks = [_artwork(plate_font, _text(plate_id)) for plate_id in ("64010400C1SM", "64010400C1TN")]
    write_pdf(tmp_path / "sheet.pdf", artworks, Sheet.fitting("A1", PlateStyle()), "0001-test", plate_font)
    # No text objects at all: the manufacturer's machine needs no font to reproduce the plates.
    text = subprocess.run(["pdftotext", tmp_path / "sheet.pdf", "-"], capture_output=True, text=True, check=True)
    assert text.stdout.strip() == ""
    subprocess.run([pdftoppm, "-r", "100", "-png", tmp_path / "sheet.pdf", tmp_path / "page"], check=True)
    decoded = {barcode.text for barcode in zxingcpp.read_barcodes(Image.open(tmp_path / "page-1.png"))}
    assert decoded == {artwork.text.url for artwork in artworks}


def test_font_lookup_explains_what_is_missing(plate_font, tmp_path):
    assert plate_font.missing("解放西街12号 Jiefang") == []
    assert plate_font.missing("\U000F0001a\U000F0001") == ["\U000F0001"]
    with pytest.raises(FontError, match="cannot draw"):
        plate_font.glyph("\U000F0001")
    with pytest.raises(FontError, match="no such file"):
        find_font(str(tmp_path / "nowhere.ttf"))
    (tmp_path / "not-a-font.otf").write_text("hello")
    with pytest.raises(FontError, match="cannot be read"):
        OutlineFont(tmp_path / "not-a-font.otf")


def test_in_a_collection_the_simplified_chinese_face_is_used(plate_font):
    if plate_font.path.suffix.lower() == ".ttc" and "Noto" in plate_font.family:
        assert plate_font.family.endswith(" SC")


def _blotted(code: QrCode, left: float, top: float, side: float, fill: int) -> Image.Image:
    """The symbol at 6 px a module with its quiet zone, a square blot over part of it."""
    px, quiet = 6, QUIET_ZONE
    image = Image.new("L", ((code.size + 2 * quiet) * px,) * 2, 255)
    draw = ImageDraw.Draw(image)
    for row, start, length in code.runs:
        draw.rectangle([(start + quiet) * px, (row + quiet) * px, (start + length + quiet) * px - 1,
                        (row + quiet + 1) * px - 1], fill=0)
    draw.rectangle([(left + quiet) * px, (top + quiet) * px, (left + side + quiet) * px, (top + side + quiet) * px],
                   fill=fill)
    return image


def test_a_blot_over_15_percent_of_the_symbol_anywhere_off_its_finders_still_reads():
    url = plate_url("https://plates.example", "64010400C1SM")
    code = QrCode.encode(url)  # the default level, Q
    size = code.size
    side = size * 0.15 ** 0.5
    finders = [(0, 0), (size - 8, 0), (0, size - 8)]
    tried = 0
    for left in [step * (size - side) / 6 for step in range(7)]:
        for top in [step * (size - side) / 6 for step in range(7)]:
            if any(left < fx + 8 and left + side > fx and top < fy + 8 and top + side > fy for fx, fy in finders):
                continue
            for fill in (0, 255):  # dirt, or a sticker
                found = zxingcpp.read_barcodes(_blotted(code, left, top, side, fill))
                assert [barcode.text for barcode in found] == [url], (left, top, fill)
                tried += 1
    assert tried > 40


def test_a_rerun_encodes_only_plates_whose_artwork_is_missing_or_cut_short(plate_font, tmp_path):
    texts = tuple(_text(plate_id) for plate_id in ("64010400C1SM", "64010400C1TN"))
    job = FileJob("0001-jiefang-xijie", texts, PlateStyle(), "A1", frozenset({"pdf", "svg"}), str(plate_font.path),
                  str(tmp_path / "cache"), str(tmp_path / "first"))
    first = render_file(job)
    assert (first.encoded, first.reused, first.pdf) == (2, 0, "pdf/0001-jiefang-xijie.pdf")
    assert first.placements == (("64010400C1SM", 1, 1), ("64010400C1TN", 1, 2))
    names = ("svg/0001-jiefang-xijie/64010400C1SM.svg", "svg/0001-jiefang-xijie/64010400C1TN.svg",
             "pdf/0001-jiefang-xijie.pdf")
    made = {name: (tmp_path / "first" / name).read_bytes() for name in names}
    [cut] = [svg for svg in (tmp_path / "cache" / "svg").iterdir() if "64010400C1TN" in svg.read_text()]
    cut.write_text(cut.read_text()[:5000])  # as if the run had been killed mid-write
    again = render_file(dataclasses.replace(job, batch_dir=str(tmp_path / "again")))
    assert (again.encoded, again.reused) == (1, 1)
    assert {name: (tmp_path / "again" / name).read_bytes() for name in names} == made
