"""The map's glyphs: signed-distance-field bitmaps of the Latin letters, digits and punctuation of a
font on this machine (Debian's Noto Sans CJK), in the glyph PBF ranges MapLibre asks for by URL.

Chinese characters are not here: the map draws them with the phone's own CJK font (MapLibre's
`localIdeographFontFamily`), so no megabytes of ideograph ranges are served. What is here is
what road, place and door labels hold besides them: digits, `-`, Hanyu Pinyin with its tone
marks, the Latin of an English label. Each glyph is drawn 4× larger by FreeType (Pillow), and
its distance field sampled from that at the map's 24 px em, the way MapLibre draws its own (a
3 px border, a radius of 8 px, the edge at 0.75), so built and local glyphs look alike.

    python -m platesvc.maps.glyphs OUT_DIR [--font FILE]

writes OUT_DIR/<fontstack>/<start>-<end>.pbf for each range in RANGES (`make install` runs it).
"""

import argparse
import math
from pathlib import Path

import numpy as np
from fontTools.ttLib import TTCollection, TTFont
from PIL import Image, ImageDraw, ImageFont

FONTSTACK = "Noto Sans CJK SC Regular"  # the name the style's text-font asks for
FAMILY = "Noto Sans CJK SC"
FONT_CANDIDATES = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                   "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf")
# Basic Latin and Latin-1; Latin Extended-A and B (Pinyin's ā ǎ ǚ); general punctuation (– — ‘ ’ …).
RANGES = (0, 256, 8192)
EM = 24  # MapLibre's glyph size
SCALE = 4  # drawn this much larger, the field sampled from that
BORDER = 3  # pixels round each bitmap, as MapLibre expects
RADIUS = 8  # pixels of distance the field spans
CUTOFF = 0.25  # where the edge sits in it: 255 × (1 - 0.25)
# MapLibre places a glyph's `top` from an origin above the em box, 27.5 px over the baseline for
# the glyphs it draws itself: built glyphs use the same, so digits sit on the line with Chinese.
TOP_ADJUSTMENT = 27


def find_font(configured: str | None = None) -> Path:
    for candidate in ((configured,) if configured else FONT_CANDIDATES):
        if Path(candidate).exists():
            return Path(candidate)
    raise SystemExit(f"no font for the map's glyphs: install Debian's fonts-noto-cjk, or pass --font "
                     f"(tried {', '.join(FONT_CANDIDATES)})")


def _face_index(path: Path) -> int:
    """Which face of a collection is the simplified Chinese one (0 for a single font)."""
    with path.open("rb") as file:
        if file.read(4) != b"ttcf":
            return 0
    for index, face in enumerate(TTCollection(str(path)).fonts):
        if face["name"].getDebugName(1) == FAMILY:
            return index
    return 0


def glyph_range(path: Path, start: int, index: int | None = None) -> bytes:
    """The glyph PBF of code points start…start+255 that the font has."""
    index = _face_index(path) if index is None else index
    covered = TTFont(str(path), fontNumber=index, lazy=True).getBestCmap()
    font = ImageFont.truetype(str(path), EM * SCALE, index=index)
    glyphs = [_glyph(font, code) for code in range(start, start + 256) if code in covered and code >= 32]
    name = f"{start}-{start + 255}"
    stack = _field(1, FONTSTACK.encode()) + _field(2, name.encode()) + b"".join(_field(3, glyph) for glyph in glyphs)
    return _field(1, stack)


def _glyph(font: ImageFont.FreeTypeFont, code: int) -> bytes:
    """One glyph message: its distance field and metrics at the 24 px em."""
    char = chr(code)
    advance = round(font.getlength(char) / SCALE)
    x0, y0, x1, y1 = font.getbbox(char, anchor="ls")  # from the origin on the baseline, y down
    if x1 <= x0 or y1 <= y0:  # nothing drawn: a space
        return _message(code, b"", 0, 0, 0, -TOP_ADJUSTMENT, advance)
    left, right = math.floor(x0 / SCALE), math.ceil(x1 / SCALE)
    top, bottom = math.ceil(-y0 / SCALE), math.ceil(y1 / SCALE)
    width, height = right - left, top + bottom
    columns, rows = width + 2 * BORDER, height + 2 * BORDER
    image = Image.new("L", (columns * SCALE, rows * SCALE), 0)
    ImageDraw.Draw(image).text(((BORDER - left) * SCALE, (BORDER + top) * SCALE), char, font=font, fill=255,
                               anchor="ls")
    inside = np.asarray(image) >= 128
    # The outline: the middle of every pixel edge between ink and none.
    r, c = np.nonzero(inside[:, 1:] != inside[:, :-1])
    edges = [np.column_stack([c + 1.0, r + 0.5])]
    r, c = np.nonzero(inside[1:, :] != inside[:-1, :])
    edges.append(np.column_stack([c + 0.5, r + 1.0]))
    outline = np.concatenate(edges)
    # Each output pixel's middle, on the large drawing.
    ys, xs = np.mgrid[0:rows, 0:columns]
    samples = np.column_stack([(xs.ravel() + 0.5) * SCALE, (ys.ravel() + 0.5) * SCALE])
    distance = np.empty(len(samples))
    for begin in range(0, len(samples), 256):
        part = samples[begin:begin + 256]
        distance[begin:begin + 256] = np.sqrt(((part[:, None, :] - outline[None, :, :]) ** 2).sum(-1).min(1))
    distance /= SCALE
    ink = inside[(ys.ravel() * SCALE + SCALE // 2), (xs.ravel() * SCALE + SCALE // 2)]
    signed = np.where(ink, -distance, distance)
    field = np.clip(np.round(255 - 255 * (signed / RADIUS + CUTOFF)), 0, 255).astype(np.uint8)
    return _message(code, field.tobytes(), width, height, left, top - TOP_ADJUSTMENT, advance)


def _message(code: int, bitmap: bytes, width: int, height: int, left: int, top: int, advance: int) -> bytes:
    return (_varint_field(1, code) + (_field(2, bitmap) if bitmap else b"") + _varint_field(3, width)
            + _varint_field(4, height) + _varint_field(5, _zigzag(left)) + _varint_field(6, _zigzag(top))
            + _varint_field(7, advance))


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 63)


def _varint_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _field(number: int, data: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def build(out_dir: Path, font: Path) -> list[Path]:
    """Every range of RANGES as a file under out_dir/FONTSTACK."""
    folder = out_dir / FONTSTACK
    folder.mkdir(parents=True, exist_ok=True)
    index = _face_index(font)
    written = []
    for start in RANGES:
        target = folder / f"{start}-{start + 255}.pbf"
        target.write_bytes(glyph_range(font, start, index))
        written.append(target)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--font", help="a TrueType/OpenType file or collection (default: Debian's Noto Sans CJK)")
    args = parser.parse_args()
    for path in build(args.out_dir, find_font(args.font)):
        print(f"{path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
