"""Text as filled outlines, so plate artwork needs no font where it is printed.

Glyphs come from a CJK font on this machine (Debian's fonts-noto-cjk by default; the
project's setup installs it) and are kept in font units, y up, ready for SVG paths and PDF forms.
"""

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from fontTools.pens.basePen import BasePen
from fontTools.ttLib import TTFont, TTLibError

from platesvc.errors import PlatesvcError

log = logging.getLogger(__name__)

# Tried in order when PLATESVC_PLATE_FONT is empty. Bold Hei (黑体) is what GB 17733 plates use.
FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)
# In a collection, the face for simplified Chinese (its family name ends so).
SIMPLIFIED_CHINESE_SUFFIX = " SC"


class FontError(PlatesvcError):
    """No usable CJK font, or a text the font cannot draw."""


@dataclass(frozen=True, eq=False)  # one object per glyph and font, so identity is equality (and hashes fast)
class Glyph:
    """One character's outline in font units, y up: SVG path data and the same as drawing commands."""

    advance: float
    svg_path: str
    commands: tuple  # ("M", x, y), ("L", x, y), ("C", x1, y1, x2, y2, x, y), ("Z",)


class _CommandPen(BasePen):
    """Records an outline as moves, lines, cubic curves and closes (quadratics become cubics)."""

    def __init__(self, glyph_set):
        super().__init__(glyph_set)
        self.commands = []

    def _moveTo(self, point):
        self.commands.append(("M", *point))

    def _lineTo(self, point):
        self.commands.append(("L", *point))

    def _curveToOne(self, first, second, end):
        self.commands.append(("C", *first, *second, *end))

    def _closePath(self):
        self.commands.append(("Z",))

    _endPath = _closePath


def _number(value: float) -> str:
    return str(round(value)) if abs(value - round(value)) < 0.05 else f"{value:.1f}"


def _svg_path(commands) -> str:
    return "".join(command[0] + " ".join(_number(v) for v in command[1:]) for command in commands)


class OutlineFont:
    """A font read for its outlines; glyphs are drawn once and kept."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self._font = _open_face(self.path)
        except (OSError, TTLibError) as error:
            log.error("cannot read the plate font %s: %s", self.path, error)
            raise FontError("The plate font cannot be read: ask the administrator (the log names the file).") from error
        self.family = self._font["name"].getDebugName(1)
        self.units_per_em = self._font["head"].unitsPerEm
        self._cmap = self._font.getBestCmap()
        self._glyph_set = self._font.getGlyphSet()
        self._glyphs: dict[str, Glyph] = {}

    @property
    def identity(self) -> str:
        """What changes when the font file does: part of every artwork cache key."""
        stat = self.path.stat()
        return f"{self.path.resolve()}:{stat.st_size}:{int(stat.st_mtime)}:{self.family}"

    def missing(self, text: str) -> list[str]:
        """The characters of `text` this font has no glyph for, in order, once each."""
        return list(dict.fromkeys(c for c in text if not c.isspace() and ord(c) not in self._cmap))

    def glyph(self, char: str) -> Glyph:
        cached = self._glyphs.get(char)
        if cached is None:
            name = self._cmap.get(ord(char))
            if name is None:
                raise FontError("The plate font %(font)s cannot draw %(character)s.", font=self.family, character=char)
            glyph = self._glyph_set[name]
            pen = _CommandPen(self._glyph_set)
            glyph.draw(pen)
            cached = self._glyphs[char] = Glyph(glyph.width, _svg_path(pen.commands), tuple(pen.commands))
        return cached

    def width(self, text: str) -> float:
        """The advance of `text` in font units."""
        return sum(self.glyph(c).advance for c in text)


def _open_face(path: Path) -> TTFont:
    """The font in `path`; in a collection, its simplified-Chinese face (else the first)."""
    with path.open("rb") as file:
        is_collection = file.read(4) == b"ttcf"
    if not is_collection:
        return TTFont(path, lazy=True)
    face = 0
    while True:
        try:
            candidate = TTFont(path, fontNumber=face, lazy=True)
        except IndexError:
            return TTFont(path, fontNumber=0, lazy=True)
        family = candidate["name"].getDebugName(1) or ""
        if family.endswith(SIMPLIFIED_CHINESE_SUFFIX) and "Mono" not in family:
            return candidate
        face += 1


def find_font(configured: str | None = None) -> Path:
    """The configured font file, or the first of FONT_CANDIDATES on this machine."""
    if configured:
        path = Path(os.path.expanduser(configured))
        if not path.is_file():
            raise FontError("PLATESVC_PLATE_FONT=%(font)s: there is no such file.", font=configured)
        return path
    for candidate in FONT_CANDIDATES:
        if os.path.isfile(candidate):
            return Path(candidate)
    raise FontError("No Chinese font is installed to draw plates with: install Debian's fonts-noto-cjk (`make fonts` "
                    "does) or set PLATESVC_PLATE_FONT to a TrueType/OpenType font with Chinese glyphs.")
