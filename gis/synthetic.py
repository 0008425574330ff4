"""A deterministic synthetic Yinchuan: the demo city, of any size up to millions of buildings.

The six real county-level divisions and their seats come from gis.divisions; every
town gets a road grid around its seat, buildings line the roads (densest near the
urban core), and subdistricts, communities, police beats, culture zones and service
points are laid over them. Geometry is built in UTM 48N metres and returned in WGS84.
The same seed always gives the same city.

A larger city grows as real ones do: first compounds behind the frontage (a door number
with buildings 12-1号, 12-2号… behind it), then new towns across the division, each with
its grid and its subdistrict; what a division cannot hold goes to the roomier ones.
Every road, subdistrict and community name is unique.
"""

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from gis.divisions import load_districts
from gis.joins import containing_polygon, nearest_geometry
from gis.pinyin import road_pinyin
from gis.shapes import to_multilinestrings, to_multipolygons

WORK_CRS = "EPSG:32648"  # UTM 48N: metres, centred on 105°E like the local Gauss-Kruger zone
WGS84 = "EPSG:4326"

DEFAULT_BUILDINGS = 55_000
BUILDINGS_PER_COMMUNITY = 200

# Yinchuan's published counts: 229 community elderly-care centres and 28
# subdistrict-level comprehensive centres, roughly one centre per community.
ELDERLY_CARE_COMMUNITY_SHARE = 229 / 275
DAY_CARE_COMMUNITY_SHARE = 0.4
MEAL_POINT_COMMUNITY_SHARE = 0.6

SLOT_SPACING_M = 24.0
FRONTAGE_OFFSET_M = 8.0
CLEAR_OF_JUNCTION_M = 36.0
ROW_SPACING_M = 30.0  # from one row of a compound to the next, away from the road
MAX_ROWS_BEHIND = 4
NEW_TOWN_RADIUS_SHARE = 0.6  # of the seat's radius
MAX_NEW_TOWNS = 256  # per division


@dataclass(frozen=True)
class Town:
    """How the demo city builds up around one division's seat."""

    share: float  # of all buildings
    radius_m: float
    block_m: float
    urban: bool
    subdistricts: tuple[str, ...]
    river: bool = False  # a river runs north-south through the seat, bridged by one east-west road in BRIDGE_EVERY


# The river through 金凤区's seat (as 典农河 runs through the real one): half a block east of its middle, RIVER_M
# wide, crossed by one east-west road in BRIDGE_EVERY, so walking there differs from the straight line.
RIVER_M = 80.0
SEGMENT_M = 200.0
BRIDGE_EVERY = 4


TOWNS = {
    "640104": Town(0.30, 6500, 420, True, (
        "凤凰北街街道", "解放西街街道", "文化街街道", "富宁街街道", "新华街街道", "玉皇阁北街街道",
        "前进街街道", "中山南街街道", "银古路街道", "胜利街街道", "丽景街街道")),
    "640106": Town(0.25, 6000, 420, True, (
        "满城北街街道", "黄河东路街道", "北京中路街道", "上海西路街道", "长城中路街道",
        "阅海街道", "宝湖街道", "良田街道", "丰登街道"), river=True),
    "640105": Town(0.20, 6000, 450, True, (
        "西花园路街道", "北京西路街道", "文昌路街道", "朔方路街道", "宁华路街道",
        "贺兰山西路街道", "怀远路街道", "同心路街道")),
    "640121": Town(0.09, 3500, 380, False, ("杨和镇", "李俊镇", "望远镇", "望洪镇", "闽宁镇", "胜利乡")),
    "640122": Town(0.09, 3500, 380, False, ("习岗镇", "金贵镇", "立岗镇", "洪广镇", "常信乡")),
    "640181": Town(0.07, 3500, 380, False, ("城区街道", "宁东镇", "临河镇", "梧桐树乡", "郝家桥镇", "崇兴镇")),
}

# Road-name roots and where each name comes from (for the place-name notes).
_NATIONAL = "银川新城区的道路多以全国的省区、城市和山川命名，寄托与各地的往来情谊"
_LOCAL = "取自银川本地的地名和历史，记录这座城市从西夏都城到塞上新城的变迁"
_VIRTUE = "取美好寓意，是上世纪城市建设时期常见的命名方式"
ROAD_ROOTS = (
    [(r, _NATIONAL) for r in (
        "北京", "上海", "天津", "重庆", "长城", "黄河", "长江", "泰山", "华山", "嵩山", "衡山",
        "庐山", "黄山", "昆仑", "天山", "祁连山", "六盘山", "贺兰山", "南京", "西安", "兰州",
        "太原", "济南", "郑州", "武汉", "长沙", "成都", "昆明", "福州", "广州", "杭州", "沈阳")]
    + [(r, _LOCAL) for r in (
        "兴庆", "宁安", "湖滨", "清和", "正源", "亲水", "凤凰", "宝湖", "阅海", "满城", "塞上",
        "朔方", "沙湖", "鸣翠", "艾依", "典农", "唐徕", "怀远", "文昌", "宁朔", "金凤", "承天",
        "海宝", "鼓楼", "南熏", "进宁", "丽子园", "掌政", "大新", "通贵", "良田", "望远", "杨和",
        "习岗", "立岗", "金贵", "洪广", "暖泉", "崇兴", "梧桐", "临河", "东塔", "泾河", "黄渠",
        "新水", "银河", "月湖", "西夏", "镇北", "宁华")]
    + [(r, _VIRTUE) for r in (
        "文化", "民族", "新华", "解放", "胜利", "建设", "团结", "友爱", "光明", "利民", "富宁",
        "丽景", "同心", "康乐", "安康", "和平", "友谊", "民生", "前进", "振兴", "育才", "幸福")]
)
_DIRECTIONS = ("东", "西", "南", "北", "中")

COMMUNITY_SUFFIXES = ("", "苑", "园", "里", "湾", "家园", "花园", "新村")
SURNAMES = "王李张刘陈杨马赵黄周吴徐孙朱胡郭何高林罗金丁田海"
GIVEN_CHARS = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华文斌宁海龙鹏辉建国红梅"

LANDMARKS = (
    # (title, lon, lat, radius_m, body): approximate WGS84 positions in the real city
    ("鼓楼历史街区", 106.2876, 38.4707, 500,
     ("银川鼓楼建于清道光元年（1821年），位于老城中心，是银川旧城的标志。"
      "鼓楼周边的解放街一带保留着老城的街巷格局，是银川最早的商业街区之一。")),
    ("玉皇阁", 106.2916, 38.4716, 300,
     ("玉皇阁是银川老城的古建筑，高台之上的楼阁飞檐翘角，与鼓楼遥遥相对，"
      "是了解银川明清城市风貌的去处。")),
    ("承天寺塔（西塔）", 106.2736, 38.4657, 450,
     ("承天寺始建于西夏时期，寺内的砖塔俗称西塔，是银川现存不多的西夏遗迹，"
      "也是老城西部的地标。")),
    ("海宝塔（北塔）", 106.2843, 38.4982, 450,
     ("海宝塔俗称北塔，是银川历史悠久的佛塔之一，塔身方形、层层收分，"
      "与西塔一南一北，是老城天际线的一部分。")),
    ("宁夏博物馆与人民广场", 106.2240, 38.4850, 600,
     ("金凤区的人民广场一带是银川新城的文化中心，宁夏博物馆收藏西夏文物和回族民俗文物，"
      "周边道路多以全国城市命名。")),
    ("西夏区大学城", 106.1420, 38.4980, 700,
     ("西夏区文昌路、贺兰山西路一带集中了多所高校，是银川的大学城，"
      "朔方、怀远等路名来自历史上的地名。")),
)


MIN_BUILDINGS = len(TOWNS)
# Twice the largest city the benchmarks store; within it a division that runs out of room says so.
MAX_BUILDINGS = 2_000_000


BUILDING_FIELDS = ("source_id", "road", "number", "community", "subdistrict", "division_code", "name", "floors")


@dataclass
class City:
    """The demo city as GeoDataFrames with the canonical import fields, in WGS84.

    Buildings are held as a table of their fields and footprint bounds, and become a
    GeoDataFrame when asked for: whole (`buildings`), or a chunk at a time, so that a
    million of them need not all be shapes at once.
    """

    divisions: gpd.GeoDataFrame  # code, name, level, parent_code
    roads: gpd.GeoDataFrame  # source_id, name, pinyin, division_code
    building_table: pd.DataFrame  # BUILDING_FIELDS and the footprint's bounds in WORK_CRS
    beats: gpd.GeoDataFrame  # source_id, name, station, officer, phone
    services: gpd.GeoDataFrame  # source_id, name, category, phone, hours
    culture: gpd.GeoDataFrame  # source_id, title, body, road (zones have a polygon, road notes none)
    # division_code, window_name, window_address, window_hours, window_phone, hotline; the window's point
    assistance: gpd.GeoDataFrame

    @cached_property
    def buildings(self) -> gpd.GeoDataFrame:
        """Every building: BUILDING_FIELDS and its footprint."""
        return self._frame(self.building_table)

    def building_chunks(self, size: int) -> Iterator[gpd.GeoDataFrame]:
        """The buildings, `size` at a time."""
        for start in range(0, len(self.building_table), size):
            yield self._frame(self.building_table.iloc[start:start + size])

    @staticmethod
    def _frame(table: pd.DataFrame) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(table[list(BUILDING_FIELDS)], geometry=_footprints_in_wgs84(table), crs=WGS84)


def generate_city(buildings: int = DEFAULT_BUILDINGS, seed: int = 1) -> City:
    """Generate the demo city with `buildings` buildings."""
    if buildings < MIN_BUILDINGS:
        raise ValueError(f"the demo city needs at least {MIN_BUILDINGS} buildings, one per division")
    if buildings > MAX_BUILDINGS:  # refused at once, not after a minute of laying out roads
        raise ValueError(f"the demo city is made for at most {MAX_BUILDINGS} buildings, not {buildings}: "
                         "ask for fewer")
    rng = np.random.default_rng(seed)
    districts = load_districts().to_crs(WORK_CRS)
    districts["seat"] = districts["seat"].to_crs(WORK_CRS)
    quotas = _quotas(buildings)
    road_names = _road_name_sequence(rng)
    subdistrict_names = _subdistrict_name_sequence(rng)

    road_frames, building_frames, town_names = [], [], {}
    # The roomiest divisions last: each takes what those before it had no room for.
    order = sorted(districts.itertuples(), key=lambda d: (d.geometry.area, d.code))
    overflow = 0
    for position, district in enumerate(order):
        quota = quotas[district.code] + overflow
        roads, placed, new_towns = _build_division(district, TOWNS[district.code], quota, road_names, rng,
                                                   last=position == len(order) - 1)
        overflow = quota - len(placed)
        road_frames.append(roads)
        building_frames.append(placed)
        town_names[district.code] = [next(subdistrict_names) + ("街道" if TOWNS[district.code].urban else "镇")
                                     for _ in range(new_towns)]
    roads = pd.concat(road_frames, ignore_index=True)
    placed = pd.concat(building_frames, ignore_index=True)

    subdistricts = _subdistricts(districts, placed, town_names, rng)
    placed["subdistrict_code"] = subdistricts["code"].to_numpy()[_assign(_centres(placed), subdistricts.geometry)]
    communities = _communities(subdistricts, placed, rng)
    placed["community_code"] = communities["code"].to_numpy()[_assign(_centres(placed), communities.geometry)]

    divisions = pd.concat([
        gpd.GeoDataFrame({"code": districts["code"], "name": districts["name"], "level": "district",
                          "parent_code": None}, geometry=districts.geometry, crs=WORK_CRS),
        subdistricts[["code", "name", "level", "parent_code", "geometry"]],
        communities[["code", "name", "level", "parent_code", "geometry"]],
    ], ignore_index=True)

    names_by_code = dict(zip(divisions["code"], divisions["name"]))
    building_table = pd.DataFrame({
        "source_id": [f"DEMO-B{i + 1:06d}" for i in range(len(placed))],
        "road": placed["road"],
        "number": placed["number"],
        "community": placed["community_code"].map(names_by_code),
        "subdistrict": placed["subdistrict_code"].map(names_by_code),
        "division_code": placed["division_code"],
        "name": placed["name"],
        "floors": placed["floors"],
        **{bound: placed[bound] for bound in ("x_lo", "x_hi", "y_lo", "y_hi")},
    })

    return City(
        divisions=_polygons(divisions).to_crs(WGS84),
        roads=roads[["source_id", "name", "pinyin", "division_code", "geometry"]].to_crs(WGS84),
        building_table=building_table,
        beats=_beats(communities, subdistricts, rng).to_crs(WGS84),
        services=_services(districts, subdistricts, communities, placed, rng).to_crs(WGS84),
        culture=_culture(roads).to_crs(WGS84),
        # Its own random stream, so that adding it left the rest of every seed's city as it was.
        assistance=_assistance(districts, subdistricts, placed, np.random.default_rng([seed, 1])).to_crs(WGS84),
    )


def _quotas(total: int) -> dict[str, int]:
    codes = list(TOWNS)
    shares = np.array([TOWNS[c].share for c in codes])
    counts = np.maximum(1, np.floor(shares / shares.sum() * total)).astype(int)
    counts[0] += total - counts.sum()  # the urban core absorbs the rounding
    return dict(zip(codes, counts.tolist()))


def _ordinals() -> Iterator[str]:
    """一, 二, … 九十九, then 一百零一 …: Chinese numbers for numbered names."""
    digits = "零一二三四五六七八九"
    for n in itertools.count(1):
        if n < 10:
            yield digits[n]
        elif n < 100:
            tens, ones = divmod(n, 10)
            yield ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")
        else:
            yield "".join(digits[int(c)] for c in str(n))


def _road_name_sequence(rng) -> Iterator[str]:
    """Unique name stems: every root once, then every root with each direction, then numbered (北京一路…)."""
    roots = [root for root, _ in ROAD_ROOTS]
    order = rng.permutation(len(roots))
    for direction in ("",) + _DIRECTIONS:
        for i in order:
            yield roots[i] + direction
    for ordinal in _ordinals():
        for i in order:
            yield roots[i] + ordinal


def _subdistrict_name_sequence(rng) -> Iterator[str]:
    """Unique stems for the subdistricts of new towns, none a stem of the real ones."""
    taken = {name[:2] for town in TOWNS.values() for name in town.subdistricts}
    roots = [root for root, _ in ROAD_ROOTS]
    for suffix in itertools.chain(("",), _DIRECTIONS, _ordinals()):
        for i in rng.permutation(len(roots)):
            if suffix or roots[i][:2] not in taken:
                yield roots[i] + suffix


@dataclass(frozen=True)
class _Plan:
    """How much of a division is built: rows of a compound behind the frontage, and new towns."""

    rows: int
    new_towns: int


def _plans() -> Iterator[_Plan]:
    for rows in range(MAX_ROWS_BEHIND + 1):
        yield _Plan(rows, 0)
    new_towns = 1
    while new_towns <= MAX_NEW_TOWNS:
        yield _Plan(MAX_ROWS_BEHIND, new_towns)
        new_towns *= 2


def _build_division(district, town, quota, road_names, rng, last: bool):
    """Roads and `quota` buildings for a division (fewer if it has no room and `last` is false),
    and how many new towns it took."""
    for plan in _plans():
        centres = [(district.seat, town.radius_m)] + _new_town_centres(district, town, plan.new_towns, rng)
        if len(centres) - 1 < plan.new_towns:  # the division is full of towns
            plan = _Plan(plan.rows, len(centres) - 1)
        roads = pd.concat([_grid_roads(district, centre, radius, town.block_m, road_names, rng, i,
                                       river=town.river and i == 0)
                           for i, (centre, radius) in enumerate(centres)], ignore_index=True)
        slots = _slots(district, town, roads, plan.rows, rng)
        if town.river:  # nobody builds in the river
            west, east = river_banks(district.seat, town.block_m)
            slots = slots[(slots["cx"] < west - 20) | (slots["cx"] > east + 20)].reset_index(drop=True)
        if len(slots) >= quota or len(centres) - 1 < plan.new_towns or plan.new_towns >= MAX_NEW_TOWNS:
            break
    if len(slots) < quota and last:
        raise ValueError(f"the demo city has room for {len(slots)} more buildings in {district.name}, "
                         f"not {quota}: ask for fewer")
    placed = _choose_buildings(district, town, centres, slots, min(quota, len(slots)), rng)
    return roads, placed, len(centres) - 1


def _new_town_centres(district, town, count, rng) -> list[tuple[shapely.Point, float]]:
    """Up to `count` centres of new towns inside the division, clear of the seat and of each other."""
    radius = town.radius_m * NEW_TOWN_RADIUS_SHARE
    minx, miny, maxx, maxy = district.geometry.bounds
    inner = district.geometry.buffer(-radius / 2)
    shapely.prepare(inner)
    taken = [(district.seat, town.radius_m)]
    for _ in range(count * 40):
        if len(taken) > count:
            break
        point = shapely.Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if inner.contains(point) and all(max(abs(point.x - c.x), abs(point.y - c.y)) >= r + radius
                                         for c, r in taken):
            taken.append((point, radius))
    return taken[1:]


def river_banks(centre, block: float) -> tuple[float, float]:
    """The west and east bank (metres east, in WORK_CRS) of the river through a seat."""
    middle = centre.x + block / 2
    return middle - RIVER_M / 2, middle + RIVER_M / 2


def _grid_roads(district, centre, radius, block, road_names, rng, town_index: int,
                river: bool = False) -> gpd.GeoDataFrame:
    steps = np.arange(-np.floor(radius / block), np.floor(radius / block) + 1)
    jitter = rng.uniform(-0.1, 0.1, size=(2, len(steps))) * block
    xs = centre.x + steps * block + jitter[0]
    ys = centre.y + steps * block + jitter[1]
    x0, x1 = centre.x - radius, centre.x + radius
    y0, y1 = centre.y - radius, centre.y + radius
    lines = [shapely.LineString([(x0, y), (x1, y)]) for y in ys]  # east-west: 路
    lines += [shapely.LineString([(x, y0), (x, y1)]) for x in xs]  # north-south: 街
    east_west = np.array([True] * len(ys) + [False] * len(xs))
    major = np.concatenate([steps % 3 == 0, steps % 3 == 0])
    clipped = shapely.intersection(np.array(lines, dtype=object), district.geometry)
    if river:  # east-west roads stop at the water, but for the bridges
        west, east = river_banks(centre, block)
        water = shapely.box(west, y0 - block, east, y1 + block)
        unbridged = np.array([i < len(ys) and steps[i] % BRIDGE_EVERY != 0 for i in range(len(lines))])
        clipped[unbridged] = shapely.difference(clipped[unbridged], water)
    lengths = shapely.length(clipped)
    keep = lengths >= 3 * block
    rows = []
    for line, clip, ew, big in zip(np.array(lines, dtype=object)[keep], clipped[keep],
                                   east_west[keep], major[keep]):
        name = next(road_names) + ("路" if ew else ("大街" if big else "街"))
        rows.append({
            "name": name,
            "pinyin": road_pinyin(name),
            "division_code": district.code,
            "east_west": ew,
            "grid_line": line,
            "geometry": clip,
        })
    roads = gpd.GeoDataFrame(rows, geometry="geometry", crs=WORK_CRS)
    roads["geometry"] = to_multilinestrings(roads.geometry)
    town = "" if town_index == 0 else f"T{town_index:03d}-"
    roads["source_id"] = [f"DEMO-R{district.code}-{town}{i + 1:03d}" for i in range(len(roads))]
    roads["town"] = town_index
    return roads


def _slots(district, town, roads, rows, rng) -> pd.DataFrame:
    """Every place a building could stand: frontage slots along the roads and, `rows` deep, the
    compound rows behind them, each with the bounds of its footprint."""
    parts = {name: [] for name in ("road", "east_west", "side", "row", "town", "cx", "cy", "number")}
    for _, group in roads.groupby("town", sort=True):
        junction_x = np.array([r.grid_line.coords[0][0] for r in group.itertuples() if not r.east_west])
        junction_y = np.array([r.grid_line.coords[0][1] for r in group.itertuples() if r.east_west])
        for road in group.itertuples():
            (ax, ay), (bx, by) = road.grid_line.coords
            if road.east_west:
                along = np.arange(ax + SLOT_SPACING_M, bx, SLOT_SPACING_M)
                clear = np.min(np.abs(along[:, None] - junction_x[None, :]), axis=1, initial=np.inf)
                centre_x, centre_y, start = along, np.full_like(along, ay), ax
            else:
                along = np.arange(ay + SLOT_SPACING_M, by, SLOT_SPACING_M)
                clear = np.min(np.abs(along[:, None] - junction_y[None, :]), axis=1, initial=np.inf)
                centre_x, centre_y, start = np.full_like(along, ax), along, ay
            kept = clear > CLEAR_OF_JUNCTION_M
            on_road = np.zeros(len(along), dtype=bool)
            on_road[kept] = shapely.dwithin(road.geometry, shapely.points(centre_x[kept], centre_y[kept]), 1.0)
            index = np.rint((along - start) / SLOT_SPACING_M).astype(int)
            for row in range(rows + 1):
                if row and row * ROW_SPACING_M + FRONTAGE_OFFSET_M + 22 > town.block_m / 2:
                    break
                # A compound's rows stay clear of the rows of the crossing road.
                fits = on_road & (clear > CLEAR_OF_JUNCTION_M + row * ROW_SPACING_M)
                count = int(fits.sum())
                for side in (0, 1):  # 0: north/west side, odd numbers; 1: south/east side, even
                    for name, values in (("road", np.full(count, road.name, dtype=object)),
                                         ("east_west", np.full(count, road.east_west)),
                                         ("side", np.full(count, side)), ("row", np.full(count, row)),
                                         ("town", np.full(count, road.town)), ("cx", centre_x[fits]),
                                         ("cy", centre_y[fits]), ("number", 2 * index[fits] + 1 + side)):
                        parts[name].append(values)
    slots = pd.DataFrame({name: np.concatenate(values) for name, values in parts.items()})
    n = len(slots)
    width = rng.uniform(12, SLOT_SPACING_M - 5, n)
    depth = rng.uniform(10, 22, n)
    outward = np.where(slots["side"] == 0, 1.0, -1.0)  # north or west is +y / -x
    ew = slots["east_west"].to_numpy()
    near = FRONTAGE_OFFSET_M + slots["row"].to_numpy() * ROW_SPACING_M
    cx, cy = slots["cx"].to_numpy(), slots["cy"].to_numpy()
    # Footprint rectangle: along the road by width, away from it by depth, `near` from its line.
    slots["x_lo"] = np.where(ew, cx - width / 2, cx - outward * near - np.where(outward > 0, depth, 0))
    slots["x_hi"] = np.where(ew, cx + width / 2, cx - outward * near + np.where(outward > 0, 0, depth))
    slots["y_lo"] = np.where(ew, cy + outward * near - np.where(outward > 0, 0, depth), cy - width / 2)
    slots["y_hi"] = np.where(ew, cy + outward * near + np.where(outward > 0, depth, 0), cy + width / 2)
    # Inside the division when its four corners are: a boundary is not that jagged at this
    # scale, and no footprint need be built for a slot that is not chosen.
    shapely.prepare(district.geometry)
    inside = np.ones(n, dtype=bool)
    for x, y in (("x_lo", "y_lo"), ("x_lo", "y_hi"), ("x_hi", "y_lo"), ("x_hi", "y_hi")):
        inside &= shapely.contains_xy(district.geometry, slots[x].to_numpy(), slots[y].to_numpy())
    return slots[inside].reset_index(drop=True)


def _choose_buildings(district, town, centres, slots, quota, rng) -> pd.DataFrame:
    """`quota` of the slots, weighted towards each town's centre, with their footprints' bounds."""
    x = (slots["x_lo"].to_numpy() + slots["x_hi"].to_numpy()) / 2
    y = (slots["y_lo"].to_numpy() + slots["y_hi"].to_numpy()) / 2
    weight = np.full(len(slots), 0.02)
    for i, (centre, radius) in enumerate(centres):
        sigma = radius * (0.35 if town.urban else 0.3)
        mine = (slots["town"] == i).to_numpy()
        weight[mine] += np.exp(-(np.hypot(x[mine] - centre.x, y[mine] - centre.y) / sigma) ** 2)
    chosen = np.sort(rng.choice(len(slots), size=quota, replace=False, p=weight / weight.sum()))
    slots = slots.iloc[chosen].reset_index(drop=True)
    floors = rng.integers(6, 34, quota) if town.urban else rng.integers(1, 7, quota)
    row = slots["row"].to_numpy()
    number = slots["number"].astype(str).to_numpy()
    number = np.where(row > 0, np.char.add(np.char.add(number.astype(str), "-"), row.astype(str)), number)
    named = (rng.random(quota) < 0.15) & (row == 0)
    names = np.where(named, [f"{r[:2]}花园{k % 20 + 1}号楼" for r, k in zip(slots["road"], range(quota))], None)
    return pd.DataFrame({
        "road": slots["road"],
        "number": number,
        "division_code": district.code,
        "floors": floors,
        "name": names,
        **{bound: slots[bound] for bound in ("x_lo", "x_hi", "y_lo", "y_hi")},
    })


def _kmeans_seeds(points: np.ndarray, k: int, rng, iterations: int = 12) -> np.ndarray:
    origin = points.mean(axis=0)
    points = points - origin  # small numbers, so the expanded squares below keep their precision
    centres = points[rng.choice(len(points), size=k, replace=False)]
    for _ in range(iterations):
        # |p - c|² less the |p|² every centre shares: one matrix product instead of a cube of differences.
        labels = np.argmin((centres ** 2).sum(axis=1)[None, :] - 2 * points @ centres.T, axis=1)
        counts = np.bincount(labels, minlength=k)
        sums = np.column_stack([np.bincount(labels, weights=points[:, axis], minlength=k) for axis in (0, 1)])
        filled = counts > 0
        centres[filled] = sums[filled] / counts[filled, None]
    return centres + origin


def _voronoi_cells(seeds: np.ndarray, parent) -> np.ndarray:
    if len(seeds) == 1:
        return np.array([parent], dtype=object)
    diagram = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=parent, ordered=True)
    return shapely.intersection(shapely.get_parts(diagram), parent)


def _building_xy(buildings) -> np.ndarray:
    """Footprint centres (work CRS) of placed buildings, which are held as their bounds, not as shapes."""
    return np.column_stack([(buildings["x_lo"].to_numpy() + buildings["x_hi"].to_numpy()) / 2,
                            (buildings["y_lo"].to_numpy() + buildings["y_hi"].to_numpy()) / 2])


def _centres(buildings) -> np.ndarray:
    return shapely.points(_building_xy(buildings))


def _footprints_in_wgs84(buildings) -> np.ndarray:
    """The footprint rectangles, their corners taken to WGS84 (as to_crs would, without the copy in between)."""
    x_lo, x_hi = buildings["x_lo"].to_numpy(), buildings["x_hi"].to_numpy()
    y_lo, y_hi = buildings["y_lo"].to_numpy(), buildings["y_hi"].to_numpy()
    # The ring as shapely.box draws it: from the lower right, anticlockwise, back to the start.
    xs = np.column_stack([x_hi, x_hi, x_lo, x_lo, x_hi])
    ys = np.column_stack([y_lo, y_hi, y_hi, y_lo, y_lo])
    lon, lat = Transformer.from_crs(WORK_CRS, WGS84, always_xy=True).transform(xs, ys)
    return shapely.polygons(np.stack([lon, lat], axis=-1))


def _subdistricts(districts, buildings, new_towns, rng) -> gpd.GeoDataFrame:
    rows = []
    for district in districts.itertuples():
        names = TOWNS[district.code].subdistricts + tuple(new_towns.get(district.code, ()))
        members = buildings[buildings["division_code"] == district.code]
        k = min(len(names), len(members))
        cells = _voronoi_cells(_kmeans_seeds(_building_xy(members), k, rng), district.geometry)
        for i, cell in enumerate(cells):
            rows.append({"code": f"{district.code}{i + 1:03d}", "name": names[i], "level": "subdistrict",
                         "parent_code": district.code, "urban": TOWNS[district.code].urban,
                         "geometry": cell})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=WORK_CRS)


def _communities(subdistricts, buildings, rng) -> gpd.GeoDataFrame:
    total = max(len(subdistricts), round(len(buildings) / BUILDINGS_PER_COMMUNITY))
    counts = buildings["subdistrict_code"].value_counts()
    names = _community_name_sequence(rng)
    rows = []
    for sub in subdistricts.itertuples():
        members = buildings[buildings["subdistrict_code"] == sub.code]
        if members.empty:
            k = 1
            cells = np.array([sub.geometry], dtype=object)
        else:
            k = min(len(members), max(1, round(total * counts[sub.code] / len(buildings))))
            cells = _voronoi_cells(_kmeans_seeds(_building_xy(members), k, rng), sub.geometry)
        for i, cell in enumerate(cells):
            rows.append({"code": f"{sub.code}{i + 1:03d}", "name": next(names), "level": "community",
                         "parent_code": sub.code, "geometry": cell})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=WORK_CRS)


def _community_name_sequence(rng) -> Iterator[str]:
    """Unique community names: every root with each suffix, then with directions, then numbered."""
    roots = [root for root, _ in ROAD_ROOTS]
    for middle in itertools.chain(("",), _DIRECTIONS, _ordinals()):
        for suffix in COMMUNITY_SUFFIXES:
            for root in rng.permutation(roots):
                yield root + middle + suffix + "社区"


def _assign(points, polygons) -> np.ndarray:
    """Index of the polygon containing each point; boundary slivers fall to the nearest."""
    index = containing_polygon(points, polygons)
    missing = index < 0
    if missing.any():
        index[missing] = nearest_geometry(np.asarray(points)[missing], polygons)
    return index


def _polygons(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    gdf = gdf.copy()
    # A vertex every 200 m: a straight edge kilometres long bends a little when taken to WGS84, and a community
    # and its subdistrict, drawn with different vertices along the edge they share, would part by slivers.
    gdf["geometry"] = to_multipolygons(shapely.segmentize(gdf.geometry.to_numpy(), SEGMENT_M))
    return gdf


def _person_name(rng) -> str:
    return SURNAMES[rng.integers(len(SURNAMES))] + "".join(
        GIVEN_CHARS[i] for i in rng.integers(len(GIVEN_CHARS), size=rng.integers(1, 3)))


def _phone(rng, prefix: str = "0951-") -> str:
    return f"{prefix}{rng.integers(5_000_000, 8_000_000)}"


def _beats(communities, subdistricts, rng) -> gpd.GeoDataFrame:
    """One beat per community, as Yinchuan's 一区一警 puts one officer in each."""
    station_of = {s.code: s.name.removesuffix("街道").removesuffix("镇").removesuffix("乡") + "派出所"
                  for s in subdistricts.itertuples()}
    return _polygons(gpd.GeoDataFrame({
        "source_id": "DEMO-J" + communities["code"],
        "name": communities["name"] + "警务区",
        "station": communities["parent_code"].map(station_of),
        "officer": [_person_name(rng) for _ in range(len(communities))],
        "phone": [f"1{rng.integers(3, 9)}{rng.integers(0, 10)}{rng.integers(10_000_000, 99_999_999)}"
                  for _ in range(len(communities))],
    }, geometry=communities.geometry, crs=WORK_CRS))


def _services(districts, subdistricts, communities, buildings, rng) -> gpd.GeoDataFrame:
    rows = []
    xy = _building_xy(buildings)
    members_of = {column: buildings.groupby(column).indices
                  for column in ("community_code", "subdistrict_code", "division_code")}

    def add(category, name, hours, parent_code, column):
        members = members_of[column].get(parent_code)
        if members is None:
            return
        x, y = xy[members[rng.integers(len(members))]] + rng.uniform(-4, 4, 2)
        rows.append({"category": category, "name": name, "hours": hours, "phone": _phone(rng),
                     "geometry": shapely.Point(x, y)})

    n = len(communities)
    for category, share, suffix, hours in (
        ("elderly_care", ELDERLY_CARE_COMMUNITY_SHARE, "社区养老服务站", "08:00-18:00"),
        ("day_care", DAY_CARE_COMMUNITY_SHARE, "日间照料中心", "08:30-17:30"),
        ("meal_point", MEAL_POINT_COMMUNITY_SHARE, "老年助餐点", "11:00-13:00, 17:00-18:30"),
    ):
        for i in np.sort(rng.choice(n, size=max(1, round(n * share)), replace=False)):
            community = communities.iloc[i]
            add(category, community["name"].removesuffix("社区") + suffix, hours, community["code"],
                "community_code")
    for sub in subdistricts[subdistricts["urban"]].itertuples():
        add("elderly_care", sub.name.removesuffix("街道") + "综合养老服务中心", "08:00-20:00", sub.code,
            "subdistrict_code")
    for district in districts.itertuples():
        add("assistance_station", district.name + "社会救助站", "24小时", district.code, "division_code")
    services = gpd.GeoDataFrame(rows, geometry="geometry", crs=WORK_CRS)
    services.insert(0, "source_id", [f"DEMO-S{i + 1:05d}" for i in range(len(services))])
    return services


def _assistance(districts, subdistricts, buildings, rng) -> gpd.GeoDataFrame:
    """Each subdistrict's one-stop window (一门受理) in its service centre, beside one of its buildings,
    and each district's assistance hotline."""
    xy = _building_xy(buildings)
    members_of = buildings.groupby("subdistrict_code").indices
    rows = []
    for sub in subdistricts.itertuples():
        members = members_of.get(sub.code)
        if members is None:
            continue
        beside = members[rng.integers(len(members))]
        road, number = buildings["road"].iloc[beside], buildings["number"].iloc[beside]
        rows.append({"division_code": sub.code, "window_name": sub.name + "便民服务中心",
                     "window_address": f"{road}{number}号" if road else None,
                     "window_hours": "工作日 09:00-12:00, 14:00-17:30", "window_phone": _phone(rng),
                     "hotline": None, "geometry": shapely.Point(*(xy[beside] + rng.uniform(-4, 4, 2)))})
    for district in districts.itertuples():
        rows.append({"division_code": district.code, "window_name": None, "window_address": None,
                     "window_hours": None, "window_phone": None, "hotline": _phone(rng), "geometry": None})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=WORK_CRS)


def _culture(roads) -> gpd.GeoDataFrame:
    origin_of = dict(ROAD_ROOTS)
    rows = []
    for title, lon, lat, radius_m, body in LANDMARKS:
        centre = gpd.GeoSeries([shapely.Point(lon, lat)], crs=WGS84).to_crs(WORK_CRS).iloc[0]
        rows.append({"title": title, "body": body, "road": None,
                     "geometry": shapely.MultiPolygon([centre.buffer(radius_m, quad_segs=8)])})
    for road in roads.itertuples():
        root = next(r for r in sorted(origin_of, key=len, reverse=True) if road.name.startswith(r))
        rows.append({"title": f"{road.name}的名字", "road": road.name, "geometry": None,
                     "body": f"{road.name}（{road.pinyin}）取名自“{root}”。{origin_of[root]}。"})
    culture = gpd.GeoDataFrame(rows, geometry="geometry", crs=WORK_CRS)
    culture.insert(0, "source_id", [f"DEMO-C{i + 1:04d}" for i in range(len(culture))])
    return culture
