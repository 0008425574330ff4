"""Geocoding a list: from the command line and the staff page, each row's plate, and why a row is unmatched."""

import csv
import io

import pandas as pd
import pytest
from openpyxl import load_workbook

from platesvc import spreadsheets
from platesvc.errors import DataError
from platesvc.search import batch, query_set
from platesvc.store.database import db
from platesvc.store.models import Role


def _rows(entries) -> pd.DataFrame:
    first, second = entries
    return pd.DataFrame({"编号": [1, 2, 3, 4, 5],
                         "地址": [f"{first.district}{first.road}{first.number}号",
                                f"{second.road_pinyin} {second.number}", "", "火星路 999", first.road]})


def test_the_command_writes_the_list_with_each_plate(issued_app, runner, tmp_path):
    entries = query_set.sample_entries(db.session, 2, seed=13)
    _rows(entries).to_csv(tmp_path / "survey.csv", index=False)
    result = runner.invoke(args=["geocode", str(tmp_path / "survey.csv")])
    assert result.exit_code == 0, result.output
    assert "2 of 5 rows matched a plate." in result.output and "row 5: No plate matches" in result.output
    with open(tmp_path / "survey-geocoded.csv", encoding="utf-8-sig") as written:
        rows = list(csv.reader(written))
    assert rows[0] == ["编号", "地址", "Plate ID", "Standard address", "Score", "Longitude", "Latitude", "Note"]
    assert [row[2] for row in rows[1:3]] == [entry.plate_id for entry in entries]
    assert float(rows[1][4]) >= 1 and float(rows[1][5]) == round(entries[0].longitude, 7)
    assert rows[3][2] == "" and rows[3][7] == "The address is empty."
    assert rows[4][7].startswith("No plate matches") and rows[5][7].startswith("It matches several plates")


def test_the_staff_page_gives_the_list_back_in_chinese(issued_app, signed_in, tmp_path):
    client, csrf = signed_in(Role.OPERATOR)
    assert "按地址清单批量查找门牌" in client.get("/staff/geocode").text
    entries = query_set.sample_entries(db.session, 2, seed=13)
    _rows(entries).to_excel(tmp_path / "survey.xlsx", index=False)
    with open(tmp_path / "survey.xlsx", "rb") as upload:
        answer = client.post("/staff/geocode", data={"csrf_token": csrf, "file": (upload, "survey.xlsx")},
                             content_type="multipart/form-data")
    assert answer.status_code == 200 and "spreadsheetml" in answer.mimetype
    rows = list(load_workbook(io.BytesIO(answer.data)).active.values)
    assert rows[0][2:] == ("门牌编号", "标准地址", "匹配度", "经度", "纬度", "说明")
    assert [row[2] for row in rows[1:3]] == [entry.plate_id for entry in entries]
    assert rows[3][7] == "地址为空。"
    refused = client.post("/staff/geocode", data={"csrf_token": csrf, "file": (io.BytesIO(b"x"), "survey.pdf")},
                          content_type="multipart/form-data")
    assert refused.status_code == 422 and "CSV" in refused.text


def test_a_list_past_its_cap_is_refused_as_it_is_read_and_a_formula_in_it_stays_text(issued_app, tmp_path):
    """The cap holds while the list streams; a formula staff's list carried comes back quoted once in a CSV and as
    text with the quote prefix in a workbook (the rows had been quoted, and write_rows quotes again)."""
    path = tmp_path / "survey.csv"
    pd.DataFrame({"地址": [f"解放西街 {n}" for n in range(6)]}).to_csv(path, index=False)
    with pytest.raises(DataError, match="survey.csv has more than 5 rows"):
        batch.geocode_file(db.session, issued_app.config, path, most_rows=5)
    pd.DataFrame({"地址": ['=HYPERLINK("http://evil.example")']}).to_csv(path, index=False)
    result = batch.geocode_file(db.session, issued_app.config, path, most_rows=5)
    out = io.BytesIO()
    spreadsheets.write_rows(batch.geocoded_rows(result, issued_app.config), out, "csv")
    assert list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"))))[1][0] == \
        "'" + '=HYPERLINK("http://evil.example")'
    out = io.BytesIO()
    spreadsheets.write_rows(batch.geocoded_rows(result, issued_app.config), out, "xlsx")
    cell = load_workbook(io.BytesIO(out.getvalue())).active.cell(2, 1)
    assert (cell.value, cell.quotePrefix) == ('=HYPERLINK("http://evil.example")', True)
