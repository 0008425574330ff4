"""How addresses and queries are spelled for search, the same on both sides: the text is folded
(full-width to ASCII, traditional to simplified characters, lower case), cut into tokens of one
script (Chinese, digits, Latin letters), and each token is also written in toneless Pinyin and
in initials, so a homophone, a Pinyin spelling or initials meet the same key.

Nothing here touches the database; pypinyin and OpenCC load on first use.
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]+|[0-9]+(?:-[0-9]+)*|[a-z]+")
# Where a run of characters is two parts of an address typed without a space (兴庆区上海路).
_PART_END = re.compile(r"街道|社区|小区|区|县|市|镇|乡")
_NUMBER_WORD = "号"  # 501号, 14号楼: the number is the digits; 号 is left out on both sides
KINDS = ("zh", "num", "latin")


@dataclass(frozen=True)
class Token:
    kind: str  # "zh", "num" or "latin"
    text: str
    syllables: tuple[str, ...]  # Pinyin of a Chinese token; the token itself otherwise

    @property
    def pinyin(self) -> str:
        return "".join(self.syllables)

    @property
    def initials(self) -> str:
        return "".join(s[0] for s in self.syllables) if self.kind == "zh" else self.text


@cache
def _pypinyin():
    import pypinyin
    return pypinyin


@cache
def _simplified():
    from opencc import OpenCC
    return OpenCC("t2s").convert


def fold(text: str) -> str:
    """Full-width and compatibility forms as their plain selves, traditional characters as simplified, lower case."""
    return _simplified()(unicodedata.normalize("NFKC", text)).lower()


def syllables(text: str) -> tuple[str, ...]:
    """Toneless Pinyin of Chinese text, one syllable a character (ü as v, as keyboards type it)."""
    pypinyin = _pypinyin()
    return tuple(pypinyin.lazy_pinyin(text, style=pypinyin.Style.NORMAL, errors=lambda chars: list(chars)))


def _split_parts(run: str) -> list[str]:
    """A run of characters cut after each division word with at least two characters on either side."""
    parts, start = [], 0
    for match in _PART_END.finditer(run):
        if match.start() - start >= 2 and len(run) - match.end() >= 2:
            parts.append(run[start:match.end()])
            start = match.end()
    return [*parts, run[start:]]


def tokens(text: str, skip: frozenset[str] = frozenset()) -> list[Token]:
    """The tokens of folded text; Chinese tokens in `skip` (the province, the city) are left out, and so is
    号 after a number."""
    found: list[Token] = []
    last_end, last_kind = -1, None
    for match in _TOKEN.finditer(fold(text)):
        word = match.group()
        if word[0].isdigit():
            found.append(Token("num", word, (word,)))
        elif word.isascii():
            found.append(Token("latin", word, (word,)))
        else:
            if last_kind == "num" and match.start() == last_end:
                word = word.removeprefix(_NUMBER_WORD)
            for part in _split_parts(word) if word else []:
                part = _without_places(part, skip)
                if part and part != _NUMBER_WORD and part not in skip:
                    found.append(Token("zh", part, syllables(part)))
        last_end, last_kind = match.end(), ("num" if word[:1].isdigit() else "other")
    return found


def _without_places(part: str, skip: frozenset[str]) -> str:
    """The part without the province and city it begins with (宁夏银川上海路 → 上海路); "" if it is one of them."""
    while True:
        if part in skip:
            return ""
        begins = next((word for word in sorted(skip, key=len, reverse=True)
                       if part.startswith(word) and len(part) > len(word)), None)
        if begins is None:
            return part
        part = part[len(begins):]


def place_words(province: str, city: str) -> frozenset[str]:
    """How the province and the city may be typed (宁夏回族自治区, 宁夏; 银川市, 银川): left out of every key."""
    words = set()
    for name in (province, city):
        folded = fold(name)
        words.add(folded)
        for suffix in ("回族自治区", "壮族自治区", "维吾尔自治区", "自治区", "省", "市"):
            if folded.endswith(suffix) and len(folded) > len(suffix) + 1:
                words.add(folded.removesuffix(suffix))
    return frozenset(words)


@dataclass(frozen=True)
class Keys:
    """What an entry is found and ranked by: its tokens as Chinese text, Pinyin and initials (each token between
    spaces, so a key starting with a space is a token's beginning), and its syllables token by token."""

    zh: str
    py: str
    ini: str
    syllables: str  # tokens apart by "|", syllables by " "


def entry_keys(parts: list[str | None]) -> Keys:
    """The keys of an address given as its parts (district, subdistrict, community, road, number, name)."""
    found = [token for part in parts if part for token in _part_tokens(part)]
    return Keys(zh=_spaced(t.text for t in found), py=_spaced(t.pinyin for t in found),
                ini=_spaced(t.initials for t in found), syllables="|".join(" ".join(t.syllables) for t in found))


@lru_cache(maxsize=65_536)  # a city's districts, communities and roads repeat in every address along them
def _part_tokens(part: str) -> tuple[Token, ...]:
    return tuple(tokens(part))


def _spaced(words) -> str:
    return " " + " ".join(words) + " "


_GENERICS = ("大街", "大道", "路", "街", "巷", "道")


def without_generic(text: str) -> str:
    """A road name without its generic part, which people leave out (上海路 → 上海); the text if none."""
    for generic in _GENERICS:
        if text.endswith(generic) and len(text) - len(generic) >= 2:
            return text[: -len(generic)]
    return text


def is_division(text: str) -> bool:
    """Whether a Chinese token names a division (兴庆区, 凤凰北街街道, 前进社区…), which people often leave out."""
    return bool(_PART_END.search(text[-2:])) and len(text) >= 2


def typed_in_pieces(typed: str, syllables: list[str]) -> bool:
    """Whether `typed` is consecutive syllables each written in full or cut short (initials, or the last one
    still being typed): shlu → shang hai lu. `syllables` are one token's, matched from any syllable."""
    @cache
    def rest(at: int, position: int) -> bool:
        if at == len(typed):
            return True
        if position == len(syllables):
            return False
        syllable = syllables[position]
        return any(rest(at + length, position + 1)
                   for length in range(min(len(syllable), len(typed) - at), 0, -1)
                   if typed[at:at + length] == syllable[:length])
    return any(syllable[:1] == typed[:1] and rest(0, start) for start, syllable in enumerate(syllables))


@cache
def pinyin_syllables() -> frozenset[str]:
    """Every toneless syllable pypinyin reads a common character as."""
    pypinyin = _pypinyin()
    text = "".join(chr(code) for code in range(0x4E00, 0x9FA6))
    return frozenset(s for s in pypinyin.lazy_pinyin(text, style=pypinyin.Style.NORMAL) if s.isascii() and s.isalpha())


def initials_of_typed(typed: str, most: int = 8) -> list[str]:
    """The initials `typed` may stand for when it mixes initials and whole syllables (hblu → hbl): each piece a
    whole syllable or the first letter of one."""
    whole = pinyin_syllables()
    starts = {s[0] for s in whole}

    @cache
    def readings(at: int) -> tuple[str, ...]:
        if at == len(typed):
            return ("",)
        found: list[str] = []
        for end in range(len(typed), at, -1):
            piece = typed[at:end]
            if (piece in whole or (len(piece) == 1 and piece in starts)) and len(found) < most:
                found += [piece[0] + rest for rest in readings(end)][:most - len(found)]
        return tuple(found)
    return list(dict.fromkeys(readings(0)))


def readings(text: str, most: int = 4) -> list[tuple[str, ...]]:
    """Up to `most` ways to read Chinese text, the usual one first: a character of several readings (长: zhang,
    chang) read out of its word, as a typo leaves it, may be read otherwise in the address."""
    pypinyin = _pypinyin()
    found = [syllables(text)]
    for position, sounds in enumerate(pypinyin.pinyin(text, style=pypinyin.Style.NORMAL, heteronym=True)):
        for sound in sounds:
            for reading in list(found):
                other = reading[:position] + (sound,) + reading[position + 1:]
                if other not in found and len(found) < most:
                    found.append(other)
    return found
