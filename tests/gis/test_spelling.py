import pytest

from gis.spelling import (
    entry_keys,
    fold,
    initials_of_typed,
    is_division,
    place_words,
    readings,
    tokens,
    typed_in_pieces,
    without_generic,
)

PLACES = place_words("宁夏回族自治区", "银川市")


@pytest.mark.parametrize("typed, expected", [
    ("兴庆区 上海路 501", [("zh", "兴庆区"), ("zh", "上海路"), ("num", "501")]),
    ("银川市兴庆区上海路５０１號", [("zh", "兴庆区"), ("zh", "上海路"), ("num", "501")]),
    ("宁夏上海路501号", [("zh", "上海路"), ("num", "501")]),
    ("宁夏回族自治区银川上海路", [("zh", "上海路")]),
    ("Shanghai Lu 12-1", [("latin", "shanghai"), ("latin", "lu"), ("num", "12-1")]),
    ("凤凰花园14号楼", [("zh", "凤凰花园"), ("num", "14"), ("zh", "楼")]),
    ('"NEAR(*) 😀', [("latin", "near")]),
])
def test_text_is_folded_and_cut_into_tokens_of_one_script(typed, expected):
    assert [(token.kind, token.text) for token in tokens(typed, PLACES)] == expected


def test_traditional_and_full_width_fold_to_what_entries_hold():
    assert fold("興慶區ＡＢ１２") == "兴庆区ab12"


def test_an_entry_is_spelled_in_chinese_pinyin_and_initials_word_by_word():
    keys = entry_keys(["兴庆区", "凤凰北街街道", None, "上海西路", "501", None])
    assert keys.zh == " 兴庆区 凤凰北街街道 上海西路 501 "
    assert keys.py == " xingqingqu fenghuangbeijiejiedao shanghaixilu 501 "
    assert keys.ini == " xqq fhbjjd shxl 501 "
    assert keys.syllables.split("|")[2] == "shang hai xi lu"


@pytest.mark.parametrize("typed, syllables, expected", [
    ("shlu", "shang hai lu", True), ("shl", "shang hai lu", True), ("shanghl", "shang hai lu", True),
    ("hail", "shang hai lu", True), ("xl", "shang hai lu", False), ("shz", "shang hai lu", False)])
def test_initials_and_syllables_may_be_mixed(typed, syllables, expected):
    assert typed_in_pieces(typed, syllables.split()) is expected


def test_mixed_letters_give_the_initials_they_may_stand_for():
    assert initials_of_typed("hblu") == ["hbl"]
    assert "shl" in initials_of_typed("shanghailu")


def test_names_without_their_generic_part_and_divisions():
    assert without_generic("上海西路") == "上海西" and without_generic("南京大街") == "南京"
    assert without_generic("路") == "路"
    assert is_division("兴庆区") and is_division("前进社区") and not is_division("上海路")


def test_a_character_of_several_readings_is_read_each_way():
    assert readings("长江街") == [("chang", "jiang", "jie")]  # in its word, as the word is read
    assert {("chang", "e", "jie"), ("zhang", "e", "jie")} <= set(readings("长鹅街"))  # out of it, either way
