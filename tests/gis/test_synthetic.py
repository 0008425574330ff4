import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from gis.divisions import load_districts
from gis.synthetic import ELDERLY_CARE_COMMUNITY_SHARE, TOWNS, WORK_CRS, generate_city

CODES = {"640104", "640105", "640106", "640121", "640122", "640181"}


def test_same_seed_same_city(small_city):
    again = generate_city(buildings=len(small_city.buildings), seed=7)
    pd.testing.assert_frame_equal(again.buildings.to_wkb(), small_city.buildings.to_wkb())
    pd.testing.assert_frame_equal(again.services.to_wkb(), small_city.services.to_wkb())


def test_another_seed_another_city(small_city):
    other = generate_city(buildings=len(small_city.buildings), seed=8)
    assert not other.buildings.geometry.geom_equals(small_city.buildings.geometry).all()


def test_the_shipped_districts_are_the_six_real_divisions():
    districts = load_districts()
    assert set(districts["code"]) == CODES
    assert districts.crs.to_epsg() == 4326
    # The simplified source boundaries cover about 6,880 km²; the datum shift must not change that.
    assert 6_800 < districts.to_crs(WORK_CRS).area.sum() / 1e6 < 6_950
    assert districts.is_valid.all()


def test_every_building_lies_in_its_district(small_city):
    districts = load_districts()[["code", "geometry"]]
    joined = gpd.sjoin(small_city.buildings, districts, predicate="within")
    assert len(joined) == len(small_city.buildings)
    assert (joined["division_code"] == joined["code"]).all()


def test_urban_core_is_densest(small_city):
    counts = small_city.buildings["division_code"].value_counts()
    area = load_districts().set_index("code").to_crs(WORK_CRS).area / 1e6
    density = counts / area
    urban = [c for c, town in TOWNS.items() if town.urban]
    counties = [c for c, town in TOWNS.items() if not town.urban]
    assert density[urban].min() > density[counties].max()


def test_addresses_are_unique_and_sides_are_odd_and_even(small_city):
    buildings = small_city.buildings.to_crs(WORK_CRS)
    roads = small_city.roads.to_crs(WORK_CRS).set_index("name")
    assert not buildings.duplicated(["road", "number"]).any()
    number = buildings["number"].astype(int)
    road = roads.loc[buildings["road"]]
    minx, miny, maxx, maxy = (road.bounds[c].to_numpy() for c in ("minx", "miny", "maxx", "maxy"))
    east_west = (maxx - minx) > (maxy - miny)
    centre = buildings.geometry.centroid
    # Odd numbers on the north side of east-west roads and the west side of north-south ones.
    north_or_west = np.where(east_west, centre.y.to_numpy() > miny, centre.x.to_numpy() < minx)
    assert ((number % 2 == 1) == north_or_west).all()


def test_divisions_nest_and_carry_their_codes(small_city):
    divisions = small_city.divisions.set_index("code")
    assert set(divisions.index[divisions["level"] == "district"]) == CODES
    lower = divisions[divisions["level"] != "district"]
    for code, row in lower.iterrows():
        parent = divisions.loc[row["parent_code"]]
        assert code.startswith(row["parent_code"])
        assert row.geometry.difference(parent.geometry).area < 1e-4 * row.geometry.area  # reprojection slivers only
    communities = divisions[divisions["level"] == "community"]
    assert (communities.index.str.len() == 12).all()


def test_buildings_are_all_covered_by_a_community_and_a_beat(small_city):
    for layer in (small_city.divisions[small_city.divisions["level"] == "community"], small_city.beats):
        joined = gpd.sjoin(small_city.buildings, layer[["geometry"]], predicate="intersects")
        assert joined.index.nunique() == len(small_city.buildings)


def test_service_points_follow_the_published_proportions(small_city):
    services = small_city.services
    communities = (small_city.divisions["level"] == "community").sum()
    urban_subdistricts = sum(len(t.subdistricts) for t in TOWNS.values() if t.urban)
    elderly = services[services["category"] == "elderly_care"]
    assert len(elderly) == round(communities * ELDERLY_CARE_COMMUNITY_SHARE) + urban_subdistricts
    assert elderly["name"].str.endswith("综合养老服务中心").sum() == urban_subdistricts == 28
    assert set(services["category"]) == {"elderly_care", "day_care", "meal_point", "assistance_station"}
    assert services["phone"].str.match(r"^0951-\d{7}$").all()


def test_roads_have_pinyin_and_culture_notes(small_city):
    roads = small_city.roads
    assert roads["name"].is_unique
    assert roads["pinyin"].str.match(r"^[A-Z][a-zü']+ [A-Z][a-z]+$").all()
    notes = small_city.culture
    assert set(roads["name"]) <= set(notes["road"].dropna())
    zones = notes[notes.geometry.notna()]
    assert len(zones) >= 5 and (zones.geom_type == "MultiPolygon").all()


def test_too_few_buildings_is_refused():
    with pytest.raises(ValueError, match="at least"):
        generate_city(buildings=3)


@pytest.mark.slow
def test_a_city_of_hundreds_of_thousands_fits_with_compounds_new_towns_and_unique_names():
    city = generate_city(buildings=400_000, seed=3)
    buildings = city.building_table
    assert len(buildings) == 400_000
    assert city.roads["name"].is_unique and city.divisions["name"].is_unique
    assert not buildings.duplicated(["road", "number"]).any()
    assert buildings["number"].str.contains("-").any()  # compounds behind the frontage
    assert city.roads["source_id"].str.contains("-T").any()  # new towns
    sample = city.buildings.sample(5_000, random_state=1)
    districts = load_districts()[["code", "geometry"]]
    joined = gpd.sjoin(sample, districts, predicate="within")
    assert len(joined) == len(sample) and (joined["division_code"] == joined["code"]).all()
    # The generic part may carry a direction and an ordinal, with the apostrophe between (镇北二路: Zhen Bei'erlu).
    assert city.roads["pinyin"].str.match(r"^[A-Z][a-zü']+ [A-Z][a-zü']+$").all()
