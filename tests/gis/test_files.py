"""Reading what GIS desks export: each format, Chinese encodings, CRSes and the refusals."""

import subprocess
import sys
import time
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from gis import files as gis_files
from gis.datum import gcj02_to_wgs84, wgs84_to_gcj02
from gis.files import SOURCE_ROW, FileReadError, read_feature_chunks, read_features
from gis.nearest import geodesic_distance

NAMES = ["解放西街", "鼓楼南街", "北京中路"]
LON = np.array([106.2781, 106.2905, 106.2312])
LAT = np.array([38.4702, 38.4665, 38.4871])


def _frame(crs="EPSG:4326") -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame({"路名": NAMES, "门牌号": ["1", "23", "108"]},
                             geometry=shapely.points(LON, LAT), crs="EPSG:4326")
    return frame.to_crs(crs)


def _assert_in_place(frame, metres=1.0):
    distance = geodesic_distance(frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy(), LON, LAT)
    assert distance.max() < metres, distance


@pytest.mark.parametrize("keep_cpg", [True, False])
def test_a_gbk_shapefile_in_gauss_kruger_lands_where_it_belongs(tmp_path, keep_cpg):
    path = tmp_path / "门牌.shp"
    _frame("EPSG:4544").to_file(path, encoding="GBK")
    assert b"\xbd\xe2\xb7\xc5" in path.with_suffix(".dbf").read_bytes()  # 解放 in GBK
    if not keep_cpg:
        path.with_suffix(".cpg").unlink()
    result = read_features(path)
    assert list(result.frame["路名"]) == NAMES and list(result.frame["门牌号"]) == ["1", "23", "108"]
    assert result.frame.crs.equals("EPSG:4326") and "4544" in result.source_crs
    _assert_in_place(result.frame)
    assert list(result.frame[SOURCE_ROW]) == [1, 2, 3]


def test_a_shapefile_without_prj_and_projected_numbers_is_refused(tmp_path):
    path = tmp_path / "no_prj.shp"
    _frame("EPSG:4544").to_file(path)
    path.with_suffix(".prj").unlink()
    with pytest.raises(FileReadError, match="does not say its coordinate reference system.*EPSG 4544"):
        read_features(path)
    _assert_in_place(read_features(path, crs="4544").frame)


def test_a_declared_crs_overrides_the_file_and_says_so(tmp_path):
    path = tmp_path / "wrong_prj.shp"
    frame = _frame("EPSG:4544").set_crs("EPSG:4545", allow_override=True)
    frame.to_file(path)
    result = read_features(path, crs="EPSG:4544")
    _assert_in_place(result.frame)
    assert any("4545" in str(note) for note in result.notes)


def test_a_geopackage_layer_is_chosen_by_name(tmp_path):
    path = tmp_path / "city.gpkg"
    _frame("EPSG:4490").to_file(path, layer="buildings")
    _frame().to_file(path, layer="other", mode="a")
    with pytest.raises(FileReadError, match="several layers.*buildings.*choose the one"):
        read_features(path)
    _assert_in_place(read_features(path, layer="buildings").frame)
    with pytest.raises(FileReadError, match="has no layer roads"):
        read_features(path, layer="roads")


def test_geojson(tmp_path):
    path = tmp_path / "points.geojson"
    _frame().to_file(path)
    result = read_features(path)
    assert list(result.frame["路名"]) == NAMES
    _assert_in_place(result.frame, metres=0.01)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk"])
def test_csv_with_chinese_longitude_latitude_columns(tmp_path, encoding):
    path = tmp_path / "services.csv"
    table = pd.DataFrame({"名称": NAMES + ["坏坐标"], "经度": [*map(str, LON), "abc"],
                          "纬度": [*map(str, LAT), "38.4"]})
    table.to_csv(path, index=False, encoding=encoding)
    result = read_features(path)
    assert list(result.frame["名称"]) == NAMES + ["坏坐标"]
    _assert_in_place(result.frame.iloc[:3], metres=0.01)
    assert result.frame.geometry.iloc[3] is None
    assert list(result.frame[SOURCE_ROW]) == [2, 3, 4, 5]  # spreadsheet rows under the header
    assert any("WGS84" in str(note) for note in result.notes)


def test_csv_with_wkt_and_coordinates_from_a_chinese_map_app(tmp_path):
    gcj_lon, gcj_lat = wgs84_to_gcj02(LON, LAT)
    path = tmp_path / "picked_in_amap.csv"
    pd.DataFrame({"name": NAMES, "wkt": [f"POINT ({x} {y})" for x, y in zip(gcj_lon, gcj_lat)]}).to_csv(
        path, index=False)
    result = read_features(path, crs="gcj02")
    _assert_in_place(result.frame, metres=0.01)
    assert result.source_crs == "GCJ02"
    back_lon, _ = gcj02_to_wgs84(gcj_lon, gcj_lat)
    assert result.frame.geometry.x.to_numpy() == pytest.approx(back_lon)


def test_xlsx(tmp_path):
    path = tmp_path / "services.xlsx"
    pyogrio.write_dataframe(pd.DataFrame({"名称": NAMES, "lon": LON, "lat": LAT}), path, driver="XLSX")
    result = read_features(path)
    assert list(result.frame["名称"]) == NAMES
    _assert_in_place(result.frame, metres=0.01)


def test_unreadable_inputs_say_what_to_do(tmp_path):
    with pytest.raises(FileReadError, match="does not exist"):
        read_features(tmp_path / "missing.shp")
    (tmp_path / "notes.docx").write_bytes(b"PK")
    with pytest.raises(FileReadError, match="Shapefile, GeoPackage, GeoJSON, CSV or Excel"):
        read_features(tmp_path / "notes.docx")
    (tmp_path / "plain.csv").write_text("name,phone\n甲,1\n", encoding="utf-8")
    with pytest.raises(FileReadError, match="no longitude and latitude columns.*name, phone"):
        read_features(tmp_path / "plain.csv")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(FileReadError, match="empty.csv is empty"):
        read_features(tmp_path / "empty.csv")
    (tmp_path / "points.csv").write_text("name,lon,lat\n甲,106.2,38.4\n", encoding="utf-8")
    with pytest.raises(FileReadError, match="not a coordinate reference system"):
        read_features(tmp_path / "points.csv", crs="EPSG:99999999")


@pytest.mark.parametrize("name", ["many.shp", "many.gpkg", "many.geojson", "many.csv"])
def test_a_file_read_in_chunks_gives_the_rows_it_gives_whole(tmp_path, name):
    count = 23
    frame = gpd.GeoDataFrame({"路名": [NAMES[i % 3] for i in range(count)], "门牌号": [str(i) for i in range(count)]},
                             geometry=shapely.points(LON[0] + np.arange(count) * 1e-4, LAT[0]), crs="EPSG:4326")
    path = tmp_path / name
    if name.endswith(".csv"):
        table = pd.DataFrame({"路名": frame["路名"], "门牌号": frame["门牌号"], "经度": frame.geometry.x,
                              "纬度": frame.geometry.y})
        lines = table.to_csv(index=False).splitlines()
        lines.insert(9, "")  # a blank line: skipped, and the rows after it keep their numbers
        path.write_bytes("\n".join(lines).encode("gbk"))
    else:
        frame.to_crs("EPSG:4544").to_file(path)

    whole = read_features(path).frame
    chunks = list(read_feature_chunks(path, chunk_rows=5))
    sizes = [len(chunk.frame) for chunk in chunks]
    assert sizes == ([5, 4, 5, 5, 4] if name.endswith(".csv") else [5, 5, 5, 5, 3])  # the blank line is no row
    joined = pd.concat([chunk.frame for chunk in chunks])
    assert list(joined["门牌号"]) == list(whole["门牌号"]) == [str(i) for i in range(count)]
    assert list(joined[SOURCE_ROW]) == list(whole[SOURCE_ROW])
    if name.endswith(".csv"):
        assert list(whole[SOURCE_ROW])[7:9] == [9, 11]  # the file's lines, the header being line 1
        assert chunks[0].encoding == "gb18030"
    assert shapely.equals_exact(joined.geometry.to_numpy(), whole.geometry.to_numpy(), 1e-9).all()


def test_a_table_without_rows_reads_as_one_empty_chunk(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("路名,经度,纬度\n", encoding="utf-8")
    chunks = list(read_feature_chunks(path, chunk_rows=5))
    assert len(chunks) == 1 and chunks[0].frame.empty


def test_a_table_of_a_million_columns_is_refused_before_it_is_read(tmp_path):
    """10 MB of column names once took an import to 5 GB; now the first line is counted, in a process
    capped at 1 GiB, and the refusal names the limit."""
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{n}" for n in range(1_000_000)) + "\n" + "," * 999_999 + "\n")
    script = ("import resource, sys\n"
              "resource.setrlimit(resource.RLIMIT_AS, (2 ** 30, 2 ** 30))\n"
              "from gis.files import FileReadError, read_features\n"
              "try:\n"
              f"    read_features({str(path)!r}, require_geometry=False)\n"
              "except FileReadError as error:\n"
              "    print(error)\n")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "wide.csv: line 1 is over 1 MiB" in done.stdout
    assert time.monotonic() - started < 5  # with the interpreter's own start


def test_a_table_of_more_columns_than_the_limit_is_refused_naming_it(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"列{n}" for n in range(2000)) + "\n" + "," * 1999 + "\n", encoding="utf-8")
    with pytest.raises(FileReadError, match="2,000 columns: a file may have at most 1,000"):
        read_features(path, require_geometry=False)


def _entity_bomb_xlsx(path) -> None:
    """A workbook whose one cell is a billion laughs: ten nested entities, each ten of the one below."""
    entities = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    main = "http://schemas.openxmlformats.org/"
    parts = {
        "[Content_Types].xml": f'<Types xmlns="{main}package/2006/content-types"><Default Extension="rels" '
                               f'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                               f'<Default Extension="xml" ContentType="application/xml"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="{main}package/2006/relationships"><Relationship Id="r1" '
                       f'Type="{main}officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
                       f'</Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{main}spreadsheetml/2006/main" xmlns:r="{main}officeDocument/2006/'
                           f'relationships"><sheets><sheet name="S" sheetId="1" r:id="r1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{main}package/2006/relationships"><Relationship '
                                      f'Id="r1" Type="{main}officeDocument/2006/relationships/worksheet" '
                                      f'Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<?xml version="1.0"?><!DOCTYPE worksheet [{entities}]><worksheet '
                                    f'xmlns="{main}spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" '
                                    f't="inlineStr"><is><t>plate_id</t></is></c></row><row r="2"><c r="A2" '
                                    f't="inlineStr"><is><t>&a9;</t></is></c></row></sheetData></worksheet>',
    }
    with zipfile.ZipFile(path, "w") as workbook:
        for name, text in parts.items():
            workbook.writestr(name, text)


def test_an_entity_bomb_workbook_is_refused_as_a_damaged_file(tmp_path):
    """GDAL's XML reader stops the expansion; its error (a CRSError, of all things) is told as the file's fault."""
    _entity_bomb_xlsx(tmp_path / "list.xlsx")
    with pytest.raises(FileReadError, match="list.xlsx cannot be read as GIS data: the file is damaged"):
        read_features(tmp_path / "list.xlsx", require_geometry=False)


def test_a_table_with_a_cell_longer_than_any_register_s_is_refused_naming_its_line(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("编号,名称\n1,凤凰助餐点\n2," + "长" * 400_000 + "\n3,x\n", encoding="utf-8")
    with pytest.raises(FileReadError, match="long.csv: line 3 is over 1 MiB"):
        read_features(path, require_geometry=False)
    path.write_text("编号,名称\n1,凤凰助餐点\n2," + "长" * 400_000, encoding="utf-8")  # no newline at the end
    with pytest.raises(FileReadError, match="line 3 is over 1 MiB"):
        read_features(path, require_geometry=False)


def test_a_workbook_that_unpacks_past_the_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    _entity_bomb_xlsx(tmp_path / "list.xlsx")
    monkeypatch.setattr("gis.files.MAX_WORKBOOK_BYTES", 1000)
    with pytest.raises(FileReadError, match="a workbook may unpack to at most"):
        read_features(tmp_path / "list.xlsx", require_geometry=False)


def test_a_ragged_table_is_refused_in_words_naming_the_line(tmp_path):
    """A line of more cells than the header names: pandas' ParserError had reached staff as an error page."""
    path = tmp_path / "ragged.csv"
    path.write_text("编号,名称\n1,凤凰助餐点\n2,x" + "," * 999_990 + "\n3,y\n", encoding="utf-8")
    with pytest.raises(FileReadError, match="ragged.csv: line 3 has 999,992 cells, but the first line names only 2"):
        read_features(path, require_geometry=False)
    path.write_text('编号,名称\n1,"凤凰助餐点\n2,x\n', encoding="utf-8")  # a quote left open
    with pytest.raises(FileReadError, match="cannot be read as a table: a quote is left open"):
        read_features(path, require_geometry=False)
    path.write_text('编号,名称\n1,"凤凰, 助餐点"\n2,x\n', encoding="utf-8")  # a comma in quotes is no cell
    assert list(read_features(path, require_geometry=False).frame["名称"]) == ["凤凰, 助餐点", "x"]


@pytest.mark.parametrize("name", ["list.csv", "list.xlsx", "list.gpkg"])
def test_a_file_past_its_row_cap_is_refused_having_read_no_more_than_the_cap(tmp_path, monkeypatch, name):
    """A cap on rows holds while the file streams: at most the cap and one more row are ever held."""
    frame = gpd.GeoDataFrame({"plate_id": [f"64010400{n:04d}" for n in range(50)]},
                             geometry=shapely.points(np.full(50, 106.28), np.full(50, 38.47)), crs="EPSG:4326")
    path = tmp_path / name
    if name.endswith(".csv"):
        frame.drop(columns="geometry").to_csv(path, index=False)
    elif name.endswith(".xlsx"):
        pd.DataFrame(frame.drop(columns="geometry")).to_excel(path, index=False)
    else:
        frame.to_file(path)
    held = []
    real = gis_files._gdal_read
    monkeypatch.setattr(gis_files, "_gdal_read", lambda *a, **k: held.append(len(found := real(*a, **k))) or found)
    real_csv = pd.read_csv
    monkeypatch.setattr(gis_files.pd, "read_csv", lambda *a, **k: _counting(real_csv(*a, **k), held))
    with pytest.raises(FileReadError, match=f"{name} has more than 10 rows: a file of this kind may have at most 10"):
        read_features(path, require_geometry=False, max_rows=10)
    assert max(held, default=0) <= 11  # the XLSX never reached GDAL: its rows were counted in its XML
    assert len(read_features(path, require_geometry=False, max_rows=50).frame) == 50


def _counting(chunks, held: list):
    for chunk in chunks:
        held.append(len(chunk))
        yield chunk


def test_a_workbook_sheet_of_more_rows_than_excel_holds_is_refused_before_gdal_reads_it(tmp_path, monkeypatch):
    monkeypatch.setattr(gis_files, "EXCEL_MAX_ROWS", 20)
    pd.DataFrame({"plate_id": [f"P{n}" for n in range(30)]}).to_excel(tmp_path / "list.xlsx", index=False)
    monkeypatch.setattr(gis_files, "_gdal_read", lambda *a, **k: pytest.fail("GDAL read the sheet"))
    with pytest.raises(FileReadError, match="more than 19 rows"):
        read_features(tmp_path / "list.xlsx", require_geometry=False)
