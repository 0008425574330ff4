"""Plate artwork: a GB 17733-style door plate with its QR code, as SVG, PDF sheets and PNG.

`compose` lays a plate out once, in millimetres with y down, as boxes, lines of outlined
text and the QR symbol; each writer draws that same layout. Text is outlines, never a font
reference, so the manufacturer needs no font. `render_file` is the unit of work of a print
batch: one PDF with its plates' SVG and PNG files, reusing what an earlier run already drew.
"""

import hashlib
import json
import os
import re
import shutil
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path

import qrcode
from PIL import Image, ImageChops, ImageDraw
from qrcode.constants import (
    ERROR_CORRECT_H,
    ERROR_CORRECT_L,
    ERROR_CORRECT_M,
    ERROR_CORRECT_Q,
)
from reportlab import rl_config
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from platesvc.errors import PlatesvcError
from platesvc.messages import Message
from platesvc.printing.outlines import Glyph, OutlineFont

# Binary PDF streams: a print shop's RIP needs no 7-bit file, and ASCII85 costs time and a quarter more bytes.
rl_config.useA85 = 0
# Bump when the layout changes, so no earlier artwork is reused for it.
ARTWORK_VERSION = 1
ERROR_CORRECTION = {"L": ERROR_CORRECT_L, "M": ERROR_CORRECT_M, "Q": ERROR_CORRECT_Q, "H": ERROR_CORRECT_H}
QUIET_ZONE = 4  # modules of white around the symbol, as ISO/IEC 18004 asks
# The smallest symbol plates use. A plate hangs outdoors for years and must still read with 15%
# of its symbol blotted out. A blot's ragged edge spoils more codewords than its area, and with
# versions 3 to 7 (and 9) some blots of 15% off the finder patterns spoil more codewords of one
# block than level Q restores; with version 8 none of 3,000 placements tried did. So plates get
# a 49-module symbol (2 mm modules on the default plate) even though a URL fits in 29.
MIN_QR_VERSION = 8
SHEETS_MM = {"A0": (841, 1189), "A1": (594, 841), "A2": (420, 594), "A3": (297, 420), "A4": (210, 297)}
BLEED_MM = 3  # the ground runs this far past the cut, so a slightly-off cut shows no white edge
CROP_MARK_MM = (2, 6)  # crop marks start this far outside the bleed and run this long
SHEET_MARGIN_MM = 10
PANEL_INK = "#000000"  # the ID under the code: dark on the white field, like the code itself
GLYPH_REACH = 4096  # font units: a form's clip box must hold any glyph of a font of up to 2048 units/em
COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")


class PrintError(PlatesvcError):
    """A print setting or plate that cannot be printed as asked."""


@dataclass(frozen=True)
class PlateStyle:
    width_mm: float = 300
    height_mm: float = 200
    ground: str = "#0B4EA2"  # the blue of road and door plates
    ink: str = "#FFFFFF"
    error_correction: str = "Q"

    def __post_init__(self):
        if not (100 <= self.width_mm <= 1200 and 60 <= self.height_mm <= 800):
            raise PrintError("A plate of %(width)s×%(height)s mm cannot be printed: give 100–1200 × 60–800 mm.",
                             width=_mm(self.width_mm), height=_mm(self.height_mm))
        if self.width_mm < self.height_mm * 1.2:
            raise PrintError("A plate of %(width)s×%(height)s mm: a door plate is wider than tall (at least 1.2 : 1), "
                             "with the code beside the text.", width=_mm(self.width_mm), height=_mm(self.height_mm))
        for name in ("ground", "ink"):
            if not COLOUR.fullmatch(getattr(self, name)):
                raise PrintError("The plate colour %(colour)s: write it as #RRGGBB.", colour=getattr(self, name))
        if self.error_correction not in ERROR_CORRECTION:
            raise PrintError("There is no error correction level %(level)s: choose one of L, M, Q, H.",
                             level=self.error_correction)

    @classmethod
    def parse(cls, size: str, ground: str, ink: str, error_correction: str) -> "PlateStyle":
        """A style from the command line's and the configuration's text."""
        return cls(*_parse_size(size), ground=ground, ink=ink,
                   error_correction=error_correction.upper())


@dataclass(frozen=True)
class PlateText:
    """What one plate says."""

    plate_id: str
    display_id: str
    url: str
    road: str
    road_pinyin: str
    number: str
    district: str
    community: str


def _mm(value: float) -> str:
    return format(value, "g")


def _parse_size(text: str) -> tuple[float, float]:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*[x×X*]\s*(\d+(?:\.\d+)?)\s*(?:mm)?\s*", text or "")
    if not match:
        raise PrintError("%(size)s: write a size as WIDTHxHEIGHT in millimetres, e.g. 300x200.", size=text)
    return float(match[1]), float(match[2])


@dataclass(frozen=True)
class QrCode:
    """A QR symbol: its width in modules and its dark modules as horizontal runs."""

    size: int
    runs: tuple[tuple[int, int, int], ...]  # (row, first column, length)

    @classmethod
    def encode(cls, url: str, error_correction: str = "Q") -> "QrCode":
        """The symbol plates carry for `url`, made by the qrcode library."""
        code = qrcode.QRCode(version=MIN_QR_VERSION, error_correction=ERROR_CORRECTION[error_correction], border=0)
        code.add_data(url)
        code.make(fit=True)  # version 8, or larger if the URL needs it
        matrix = code.get_matrix()
        runs = []
        for row, modules in enumerate(matrix):
            start = None
            for column, dark in enumerate((*modules, False)):
                if dark and start is None:
                    start = column
                elif not dark and start is not None:
                    runs.append((row, start, column - start))
                    start = None
        return cls(len(matrix), tuple(runs))

    @property
    def rows(self) -> list[str]:
        """The symbol as rows of '1' (dark) and '0', without the quiet zone."""
        rows = [["0"] * self.size for _ in range(self.size)]
        for row, start, length in self.runs:
            rows[row][start:start + length] = ["1"] * length
        return ["".join(row) for row in rows]

    def svg_path(self) -> str:
        """Path data in module units, one rectangle a run; `from_svg_path` reads it back."""
        return "".join(f"M{start} {row}h{length}v1h-{length}z" for row, start, length in self.runs)

    @classmethod
    def from_svg_path(cls, path: str) -> "QrCode":
        runs = tuple((int(row), int(start), int(length)) for start, row, length in _SVG_RUN.findall(path))
        # The bottom row always has dark modules: the lower-left finder pattern.
        return cls(runs[-1][0] + 1 if runs else 0, runs)


_SVG_RUN = re.compile(r"M(\d+) (\d+)h(\d+)")


# The layout: what a plate is made of, in mm from its top-left corner.

@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float
    colour: str
    line_width: float = 0  # 0: filled; else only the outline, this thick


@dataclass(frozen=True)
class TextLine:
    x: float
    baseline: float
    scale: float  # mm per font unit, vertically
    condense: float  # horizontal scale on top of `scale`: long names are narrowed, as on real plates
    colour: str
    glyphs: tuple[tuple[float, Glyph], ...]  # (x offset in font units, glyph)


@dataclass(frozen=True)
class Symbol:
    x: float  # where the first module is (inside the quiet zone)
    y: float
    module: float  # mm per module
    code: QrCode


@dataclass(frozen=True)
class PlateArtwork:
    text: PlateText
    style: PlateStyle
    shapes: tuple  # Box | TextLine | Symbol, in drawing order


def compose(text: PlateText, code: QrCode, style: PlateStyle, font: OutlineFont) -> PlateArtwork:
    """Lay one plate out: road, Pinyin, door number, district and community; the code beside them."""
    width, height = style.width_mm, style.height_mm
    u = height / 200  # the layout is drawn for a 200 mm tall plate and scales with the height
    margin = 12 * u
    panel_width = min(116 * u, width * 0.42)
    panel = Box(width - margin - panel_width, margin + 2 * u, panel_width, height - 2 * margin - 4 * u, "#FFFFFF")
    module = panel_width / (code.size + 2 * QUIET_ZONE)
    left = margin + 4 * u
    text_width = panel.x - 10 * u - left
    line = _TextSetter(font)
    number_size, unit_size = 64 * u, 34 * u
    unit_width = font.width("号") / font.units_per_em * unit_size
    number = line(text.number, left, 152 * u, number_size, text_width - unit_width - 2 * u, style.ink)
    number_end = number.x + font.width(text.number) * number.scale * number.condense
    below_code = panel.y + panel_width
    shapes = [
        Box(0, 0, width, height, style.ground),
        Box(5 * u, 5 * u, width - 10 * u, height - 10 * u, style.ink, line_width=1.6 * u),
        line(text.road, left, 57 * u, 40 * u, text_width, style.ink),
        line(text.road_pinyin, left, 77 * u, 11 * u, text_width, style.ink),
        Box(left, 88 * u, text_width, 1.2 * u, style.ink),
        number,
        line("号", number_end + 2 * u, 152 * u, unit_size, unit_width, style.ink),
        line(" · ".join(part for part in (text.district, text.community) if part),
             left, 180 * u, 11 * u, text_width, style.ink),
        panel,
        Symbol(panel.x + QUIET_ZONE * module, panel.y + QUIET_ZONE * module, module, code),
        line(text.display_id, panel.x + panel_width / 2, below_code + 14 * u, 11 * u, panel_width - 8 * u,
             PANEL_INK, centred=True),
        line("扫码查看地址 导航 便民服务", panel.x + panel_width / 2, below_code + 30 * u, 7 * u,
             panel_width - 8 * u, PANEL_INK, centred=True),
    ]
    return PlateArtwork(text, style, tuple(shapes))


class _TextSetter:
    """Sets one line of text into a width: narrowed down to 70%, then made smaller."""

    MOST_CONDENSED = 0.7

    def __init__(self, font: OutlineFont):
        self.font = font

    def __call__(self, text: str, x: float, baseline: float, size: float, max_width: float, colour: str,
                 centred: bool = False) -> TextLine:
        units = self.font.width(text) or 1
        scale = size / self.font.units_per_em
        condense = min(1.0, max(self.MOST_CONDENSED, max_width / (units * scale)))
        if units * scale * condense > max_width:
            scale = max_width / (units * condense)
        if centred:
            x -= units * scale * condense / 2
        glyphs, advance = [], 0.0
        for char in text:
            glyph = self.font.glyph(char)
            glyphs.append((advance, glyph))
            advance += glyph.advance
        return TextLine(x, baseline, scale, condense, colour, tuple(glyphs))


def _n(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


# SVG

def to_svg(artwork: PlateArtwork) -> str:
    """The plate as one standalone SVG, sized in millimetres, every letter an outline."""
    style, text = artwork.style, artwork.text
    parts = [(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(style.width_mm)}mm" height="{_n(style.height_mm)}mm" '
        f'viewBox="0 0 {_n(style.width_mm)} {_n(style.height_mm)}">\n'
        f"<title>{_escape(text.display_id)} {_escape(text.road + text.number)}号</title>\n"
        f"<desc>{_escape(text.url)}</desc>\n")]
    for shape in artwork.shapes:
        if isinstance(shape, Box):
            if shape.line_width:
                half = shape.line_width / 2
                parts.append(f'<rect x="{_n(shape.x + half)}" y="{_n(shape.y + half)}" '
                             f'width="{_n(shape.width - shape.line_width)}" '
                             f'height="{_n(shape.height - shape.line_width)}" '
                             f'fill="none" stroke="{shape.colour}" stroke-width="{_n(shape.line_width)}"/>\n')
            else:
                parts.append(f'<rect x="{_n(shape.x)}" y="{_n(shape.y)}" width="{_n(shape.width)}" '
                             f'height="{_n(shape.height)}" fill="{shape.colour}"/>\n')
        elif isinstance(shape, TextLine):
            parts.append(f'<g fill="{shape.colour}" transform="matrix({_n(shape.scale * shape.condense)} 0 0 '
                         f'{_n(-shape.scale)} {_n(shape.x)} {_n(shape.baseline)})">')
            parts.extend(f'<path transform="translate({_n(offset)})" d="{glyph.svg_path}"/>'
                         for offset, glyph in shape.glyphs if glyph.svg_path)
            parts.append("</g>\n")
        else:
            parts.append(f'<path id="qr" fill="#000000" shape-rendering="crispEdges" transform="matrix('
                         f'{_n(shape.module)} 0 0 {_n(shape.module)} {_n(shape.x)} {_n(shape.y)})" '
                         f'd="{shape.code.svg_path()}"/>\n')
    parts.append("</svg>\n")
    return "".join(parts)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# PNG

def to_png(artwork: PlateArtwork, path: Path, dpi: int) -> None:
    """The plate as a PNG at `dpi`: a preview, or for printers that take only raster images."""
    px = dpi / 25.4
    style = artwork.style
    image = Image.new("RGB", (round(style.width_mm * px), round(style.height_mm * px)))
    draw = ImageDraw.Draw(image)
    for shape in artwork.shapes:
        if isinstance(shape, Box):
            corners = [shape.x * px, shape.y * px, (shape.x + shape.width) * px - 1, (shape.y + shape.height) * px - 1]
            if shape.line_width:
                draw.rectangle(corners, outline=shape.colour, width=max(1, round(shape.line_width * px)))
            else:
                draw.rectangle(corners, fill=shape.colour)
        elif isinstance(shape, TextLine):
            for offset, glyph in shape.glyphs:
                _fill_glyph(image, glyph, shape, offset, px)
        else:
            for row, start, length in shape.code.runs:
                x, y = (shape.x + start * shape.module) * px, (shape.y + row * shape.module) * px
                draw.rectangle([x, y, x + length * shape.module * px - 1, y + shape.module * px - 1], fill="#000000")
    image.save(path, dpi=(dpi, dpi), optimize=False)


def _fill_glyph(image: Image.Image, glyph: Glyph, line: TextLine, offset: float, px: float) -> None:
    """Fill a glyph even-odd: each contour toggles the pixels it covers, so counters stay open."""
    contours = [[((line.x + (offset + x) * line.scale * line.condense) * px, (line.baseline - y * line.scale) * px)
                 for x, y in contour] for contour in _flattened(glyph)]
    if not contours:
        return
    xs = [x for contour in contours for x, _ in contour]
    ys = [y for contour in contours for _, y in contour]
    left, top = int(min(xs)), int(min(ys))
    size = (int(max(xs)) - left + 2, int(max(ys)) - top + 2)
    mask = Image.new("1", size)
    for contour in contours:
        shape = Image.new("1", size)
        ImageDraw.Draw(shape).polygon([(x - left, y - top) for x, y in contour], fill=1)
        mask = ImageChops.logical_xor(mask, shape)
    image.paste(line.colour, (left, top, left + size[0], top + size[1]), mask)


@lru_cache(maxsize=4096)
def _flattened(glyph: Glyph, steps: int = 8) -> tuple[tuple[tuple[float, float], ...], ...]:
    """The glyph's contours as polygons, in font units, each curve cut into `steps` lines."""
    contours, current, here = [], [], (0.0, 0.0)
    for command in glyph.commands:
        kind = command[0]
        if kind == "M":
            if len(current) > 2:
                contours.append(tuple(current))
            here = command[1:3]
            current = [here]
        elif kind == "L":
            here = command[1:3]
            current.append(here)
        elif kind == "C":
            (x0, y0), (x1, y1, x2, y2, x3, y3) = here, command[1:]
            for i in range(1, steps + 1):
                t = i / steps
                s = 1 - t
                current.append((s**3 * x0 + 3 * s * s * t * x1 + 3 * s * t * t * x2 + t**3 * x3,
                                s**3 * y0 + 3 * s * s * t * y1 + 3 * s * t * t * y2 + t**3 * y3))
            here = command[5:7]
        elif len(current) > 2:
            contours.append(tuple(current))
            current = []
    if len(current) > 2:
        contours.append(tuple(current))
    return tuple(contours)


# PDF sheets

@dataclass(frozen=True)
class Sheet:
    """Plates tiled on a sheet, each with bleed and crop marks, turned whichever way fits more."""

    width_mm: float
    height_mm: float
    columns: int
    rows: int
    cell_width_mm: float
    cell_height_mm: float

    @classmethod
    def fitting(cls, name: str, style: PlateStyle) -> "Sheet":
        """The sheet called `name` (A0–A4, or WIDTHxHEIGHT in mm) laid out for plates of `style`."""
        size = SHEETS_MM.get(name.upper()) if name else None
        width, height = size or _parse_size(name)
        around = 2 * (BLEED_MM + sum(CROP_MARK_MM))
        cell = (style.width_mm + around, style.height_mm + around)
        layouts = []
        for sheet_width, sheet_height in ((width, height), (height, width)):
            columns = int((sheet_width - 2 * SHEET_MARGIN_MM) // cell[0])
            rows = int((sheet_height - 2 * SHEET_MARGIN_MM) // cell[1])
            layouts.append(cls(sheet_width, sheet_height, columns, rows, *cell))
        best = max(layouts, key=lambda sheet: sheet.per_page)
        if best.per_page == 0:
            raise PrintError("A %(width)s×%(height)s mm plate with its crop marks does not fit on a %(sheet)s sheet: "
                             "choose a larger sheet.", width=_mm(style.width_mm), height=_mm(style.height_mm),
                             sheet=Message("%(width)s×%(height)s mm", width=_mm(width), height=_mm(height)))
        return best

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def place(self, index: int) -> tuple[int, int]:
        """(page, position on the page), both from 1, of the plate at `index` in a file."""
        return index // self.per_page + 1, index % self.per_page + 1

    def trim_origin(self, position: int) -> tuple[float, float]:
        """The top-left corner of the plate at `position`, in mm from the sheet's top-left."""
        row, column = divmod(position - 1, self.columns)
        left = (self.width_mm - self.columns * self.cell_width_mm) / 2
        top = (self.height_mm - self.rows * self.cell_height_mm) / 2
        inset = BLEED_MM + sum(CROP_MARK_MM)
        return left + column * self.cell_width_mm + inset, top + row * self.cell_height_mm + inset


def write_pdf(path: Path, artworks: list[PlateArtwork], sheet: Sheet, title: str, font: OutlineFont) -> None:
    """Tile `artworks` onto sheets with crop marks, in order, into one PDF with no font in it."""
    canvas = Canvas(str(path), pagesize=(sheet.width_mm * mm, sheet.height_mm * mm), invariant=1, pageCompression=1)
    canvas.setTitle(title)
    canvas.setCreator("platesvc")
    forms = _PdfForms(canvas)
    footer = _TextSetter(font)
    pages = (len(artworks) + sheet.per_page - 1) // sheet.per_page
    for index, artwork in enumerate(artworks):
        page, position = sheet.place(index)
        left, top = sheet.trim_origin(position)
        canvas.saveState()
        # From here on: millimetres, y down, from the plate's top-left corner.
        canvas.transform(mm, 0, 0, -mm, left * mm, (sheet.height_mm - top) * mm)
        _draw_plate(canvas, artwork, forms)
        canvas.restoreState()
        _draw_crop_marks(canvas, sheet, left, top, artwork.style)
        if position == sheet.per_page or index == len(artworks) - 1:
            ids = [a.text.display_id for a in artworks[index - position + 1:index + 1]]
            canvas.saveState()
            canvas.transform(mm, 0, 0, -mm, 0, sheet.height_mm * mm)
            _draw_line(canvas, footer(f"{title}  page {page}/{pages}  {ids[0]} ... {ids[-1]}", SHEET_MARGIN_MM,
                                      sheet.height_mm - SHEET_MARGIN_MM / 2, 3, sheet.width_mm, "#000000"), forms)
            canvas.restoreState()
            canvas.showPage()
    canvas.save()


def _draw_plate(canvas: Canvas, artwork: PlateArtwork, forms: "_PdfForms") -> None:
    for shape in artwork.shapes:
        if isinstance(shape, Box):
            if shape.line_width:
                half = shape.line_width / 2
                canvas.setStrokeColor(_pdf_colour(shape.colour))
                canvas.setLineWidth(shape.line_width)
                canvas.rect(shape.x + half, shape.y + half, shape.width - shape.line_width,
                            shape.height - shape.line_width, stroke=1, fill=0)
            else:
                bleed = BLEED_MM if shape.x == 0 and shape.y == 0 else 0  # only the ground runs past the cut
                canvas.setFillColor(_pdf_colour(shape.colour))
                canvas.rect(shape.x - bleed, shape.y - bleed, shape.width + 2 * bleed, shape.height + 2 * bleed,
                            stroke=0, fill=1)
        elif isinstance(shape, TextLine):
            _draw_line(canvas, shape, forms)
        else:
            canvas.setFillColor(_pdf_colour(PANEL_INK))
            canvas.saveState()
            canvas.transform(shape.module, 0, 0, shape.module, shape.x, shape.y)
            # Whole modules: a few hundred rectangles in integers, written as they are.
            canvas.addLiteral(" ".join(f"{start} {row} {length} 1 re" for row, start, length in shape.code.runs) + " f")
            canvas.restoreState()


def _draw_line(canvas: Canvas, line: TextLine, forms: "_PdfForms") -> None:
    canvas.setFillColor(_pdf_colour(line.colour))
    canvas.saveState()
    canvas.transform(line.scale * line.condense, 0, 0, -line.scale, line.x, line.baseline)
    forms.draw_line(line)
    canvas.restoreState()


class _PdfForms:
    """Each glyph, and each line of text that recurs (a road's name on all its plates), is drawn
    into the PDF once as a form that later uses refer to; a line seen once is drawn glyph by glyph."""

    def __init__(self, canvas: Canvas):
        self.canvas = canvas
        self.glyphs: dict[Glyph, str] = {}
        self.lines_seen: set[tuple] = set()
        self.line_forms: dict[tuple, str] = {}

    def draw_line(self, line: TextLine) -> None:
        """Draw `line` in its own units (font units, y up, from the start of its baseline)."""
        key = tuple(glyph for _, glyph in line.glyphs)
        name = self.line_forms.get(key)
        if name is None:
            if key not in self.lines_seen:
                self.lines_seen.add(key)
                self._draw_glyphs(line)
                return
            name = self.line_forms[key] = f"line{len(self.line_forms)}"
            end = line.glyphs[-1][0] + line.glyphs[-1][1].advance
            self.canvas.beginForm(name, -GLYPH_REACH, -GLYPH_REACH, end + GLYPH_REACH, GLYPH_REACH)
            self._draw_glyphs(line)
            self.canvas.endForm()
        self.canvas.doForm(name)

    def _draw_glyphs(self, line: TextLine) -> None:
        for offset, glyph in line.glyphs:
            if glyph.commands:
                name = self._glyph(glyph)
                self.canvas.addLiteral(f"q 1 0 0 1 {offset:g} 0 cm")
                self.canvas.doForm(name)
                self.canvas.addLiteral("Q")

    def _glyph(self, glyph: Glyph) -> str:
        name = self.glyphs.get(glyph)
        if name is None:
            name = self.glyphs[glyph] = f"glyph{len(self.glyphs)}"
            self.canvas.beginForm(name, -GLYPH_REACH, -GLYPH_REACH, GLYPH_REACH, GLYPH_REACH)
            self.canvas.addLiteral(_pdf_outline(glyph))
            self.canvas.endForm()
        return name


@lru_cache(maxsize=8192)
def _pdf_outline(glyph: Glyph) -> str:
    """The glyph as PDF path operators, filled nonzero as fonts are drawn (kept: every file needs them)."""
    operators = {"M": "m", "L": "l", "C": "c", "Z": "h"}
    return " ".join(" ".join([*(f"{value:g}" for value in command[1:]), operators[command[0]]])
                    for command in glyph.commands) + " f"


@lru_cache(maxsize=64)
def _pdf_colour(hex_colour: str) -> Color:
    return HexColor(hex_colour)


def _draw_crop_marks(canvas: Canvas, sheet: Sheet, left: float, top: float, style: PlateStyle) -> None:
    gap, length = CROP_MARK_MM
    start = BLEED_MM + gap
    canvas.setStrokeColorRGB(0, 0, 0)
    canvas.setLineWidth(0.25)
    for x, sx in ((left, -1), (left + style.width_mm, 1)):
        for y, sy in ((top, -1), (top + style.height_mm, 1)):
            page_y = sheet.height_mm - y
            canvas.line((x + sx * start) * mm, page_y * mm, (x + sx * (start + length)) * mm, page_y * mm)
            canvas.line(x * mm, (page_y - sy * start) * mm, x * mm, (page_y - sy * (start + length)) * mm)


# One file of a batch, with what an earlier run drew reused

@dataclass(frozen=True)
class FileJob:
    """One PDF of a batch and the plates on it, in order."""

    stem: str
    plates: tuple[PlateText, ...]
    style: PlateStyle
    sheet_name: str
    formats: frozenset[str]
    font_path: str
    cache_dir: str
    batch_dir: str
    png_dpi: int = 150


@dataclass(frozen=True)
class FileResult:
    stem: str
    pdf: str | None  # path inside the batch folder
    placements: tuple[tuple[str, int, int], ...]  # (plate ID, page, position)
    encoded: int  # plates whose QR code was encoded in this run
    reused: int  # plates whose code an earlier run had encoded (their artwork is reused where unchanged)


@lru_cache(maxsize=2)
def _font(path: str) -> OutlineFont:
    return OutlineFont(path)  # once per process: opening a CJK font takes a third of a second


def render_file(job: FileJob) -> FileResult:
    """Draw one file of a batch into `job.batch_dir`, reusing artwork found in `job.cache_dir`.

    A plate's SVG is its cached artwork, symbol included: a plate whose SVG is there and
    complete is not encoded again.
    """
    font = _font(job.font_path)
    cache = Path(job.cache_dir)
    batch = Path(job.batch_dir)
    sheet = Sheet.fitting(job.sheet_name, job.style)
    for folder in [cache / "svg"] + [batch / kind / job.stem for kind in ("svg", "png") if kind in job.formats]:
        folder.mkdir(parents=True, exist_ok=True)
    artworks, keys, encoded = [], [], 0
    for text in job.plates:
        key = _digest(ARTWORK_VERSION, _QR_LIBRARY, MIN_QR_VERSION, font.identity, asdict(job.style), asdict(text))
        keys.append(key)
        svg = cache / "svg" / f"{key}.svg"
        code = _code_in(svg)
        if code is None:
            artwork = compose(text, QrCode.encode(text.url, job.style.error_correction), job.style, font)
            svg.unlink(missing_ok=True)  # a new file: never rewrite one that batches link to
            svg.write_text(to_svg(artwork), encoding="utf-8")
            encoded += 1
        else:
            artwork = compose(text, code, job.style, font)
        artworks.append(artwork)
        if "svg" in job.formats:
            _link(svg, batch / "svg" / job.stem / f"{text.plate_id}.svg")
        if "png" in job.formats:
            _link(_cached(cache / "png" / f"{key}-{job.png_dpi}.png",
                          lambda target, artwork=artwork: to_png(artwork, target, job.png_dpi)),
                  batch / "png" / job.stem / f"{text.plate_id}.png")
    pdf = None
    if "pdf" in job.formats:
        pdf = f"pdf/{job.stem}.pdf"
        (batch / "pdf").mkdir(exist_ok=True)
        sheet_key = _digest(ARTWORK_VERSION, job.stem, job.sheet_name, keys)
        def draw(target):
            write_pdf(target, artworks, sheet, job.stem, font)
        _link(_cached(cache / "pdf" / f"{sheet_key}.pdf", draw), batch / pdf)
    placements = tuple((text.plate_id, *sheet.place(index)) for index, text in enumerate(job.plates))
    return FileResult(job.stem, pdf, placements, encoded, len(job.plates) - encoded)


_QR_LIBRARY = f"qrcode {version('qrcode')}"  # a new release might choose another mask: encode again
_SVG_SYMBOL = re.compile(r'<path id="qr"[^>]* d="([^"]*)"')


def _code_in(svg: Path) -> QrCode | None:
    """The symbol of a cached plate SVG; None if there is none, or only part of one (a run cut short)."""
    try:
        text = svg.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    match = _SVG_SYMBOL.search(text)
    return QrCode.from_svg_path(match[1]) if match and text.endswith("</svg>\n") else None


def _digest(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:32]


def _cached(path: Path, write) -> Path:
    """`path`, first written by `write(partial path)` if no earlier run wrote it.

    The file appears under its name only once complete, so an interrupted run leaves
    nothing that a later one would take for finished work.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.stem}.{os.getpid()}{path.suffix}")
        try:
            write(partial)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    return path


def _link(cached: Path, target: Path) -> None:
    """Put a cached file into the (new) batch folder, without copying it where the disk allows."""
    try:
        os.link(cached, target)
    except OSError:
        shutil.copyfile(cached, target)
