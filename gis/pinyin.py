"""Hanyu Pinyin for place names, written the way GB 17733 road plates show them."""

from functools import cache

# Generic parts of a road name, longest first; a direction or an ordinal before one
# (解放西街, 中山一路) belongs to the generic part in Pinyin ("Jiefang Xijie",
# "Zhongshan Yilu"), per GB/T 16159.
_GENERICS = ("大街", "大道", "路", "街", "巷", "道", "胡同", "里")
_DIRECTIONS = "东西南北中"
_ORDINALS = "一二三四五六七八九十"


@cache
def _pypinyin():
    # Its dictionaries take some 50 MB: a web worker that never writes Pinyin never loads them.
    import pypinyin
    return pypinyin


def _syllables(text: str) -> str:
    # A syllable starting with a, o or e after another takes an apostrophe: Ning'an, not Ningan.
    joined = ""
    pypinyin = _pypinyin()
    for syllable in pypinyin.lazy_pinyin(text, style=pypinyin.Style.NORMAL, v_to_u=True):
        if joined and syllable[:1] in ("a", "o", "e"):
            joined += "'"
        joined += syllable
    return joined


def place_pinyin(name: str) -> str:
    """Pinyin of a place name, first letter capitalised: 贺兰山 → Helanshan."""
    return _syllables(name).capitalize()


def road_pinyin(name: str) -> str:
    """Pinyin of a road name with its generic part apart: 解放西街 → Jiefang Xijie."""
    for generic in _GENERICS:
        if name.endswith(generic) and len(name) > len(generic):
            specific = name[: -len(generic)]
            while len(specific) > 2 and specific[-1] in _ORDINALS:
                specific, generic = specific[:-1], specific[-1] + generic
            if specific[-1] in _DIRECTIONS and len(specific) > 1:
                specific, generic = specific[:-1], specific[-1] + generic
            return f"{place_pinyin(specific)} {place_pinyin(generic)}"
    return place_pinyin(name)
