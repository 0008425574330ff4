"""The resident find page: a search box, Chinese first, and "where am I"; the not-found page leads to it."""

import pytest

from platesvc.registry.plate_ids import parse_plate_id
from platesvc.search import query_set
from platesvc.store.database import db


@pytest.fixture
def entry(issued_app):
    return query_set.sample_entries(db.session, 1, seed=11)[0]


def test_the_page_finds_an_address_as_typed(client, entry):
    page = client.get("/find")
    assert page.status_code == 200 and "查找地址" in page.text and 'name="q"' in page.text
    found = client.get("/find", query_string={"q": f"{entry.road_pinyin} {entry.number}"})
    assert found.status_code == 200 and "找到的门牌" in found.text
    assert found.text.index(parse_plate_id(entry.plate_id).display) < found.text.index("</ul>")
    assert f"/P/{entry.plate_id}" in found.text or f"/p/{entry.plate_id}" in found.text
    english = client.get("/find", query_string={"q": "火星路 999", "lang": "en"})
    assert "Find an address" in english.text and "No plate matches" in english.text


def test_where_am_i_lists_the_nearest_plates(client, entry):
    page = client.get("/find", query_string={"lon": entry.longitude, "lat": entry.latitude})
    assert page.status_code == 200 and "您附近的门牌" in page.text
    assert parse_plate_id(entry.plate_id).display in page.text and "where-am-i.js" in page.text


def test_a_plate_not_found_leads_to_the_find_page(client, entry):
    page = client.get("/p/640104-00000-0")
    assert page.status_code == 404 and "/find" in page.text and "按地址查找门牌" in page.text


def test_bad_find_input_is_a_400(client, entry):
    assert client.get("/find", query_string={"q": "路" * 300}).status_code == 400
    assert client.get("/find", query_string={"lon": "x", "lat": 38}).status_code == 400
