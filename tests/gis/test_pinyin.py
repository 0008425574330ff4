import pytest

from gis.pinyin import place_pinyin, road_pinyin


@pytest.mark.parametrize("name, expected", [
    ("北京路", "Beijing Lu"),
    ("解放西街", "Jiefang Xijie"),
    ("宁安大街", "Ning'an Dajie"),
    ("贺兰山中路", "Helanshan Zhonglu"),
    ("绿洲路", "Lüzhou Lu"),
    ("鼓楼", "Gulou"),
    ("西街", "Xi Jie"),
    ("中山一路", "Zhongshan Yilu"),
    ("北京二十街", "Beijing Ershijie"),
    ("八一路", "Bayi Lu"),  # a name, not a numbered road
])
def test_road_pinyin_separates_the_generic_part(name, expected):
    assert road_pinyin(name) == expected


def test_place_pinyin_capitalises_the_whole_name():
    assert place_pinyin("兴庆区") == "Xingqingqu"
