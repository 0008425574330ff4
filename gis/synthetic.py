"""A deterministic synthetic Yinchuan: the demo city.

The six real county-level divisions and their seats come from gis.reference; every
town gets a road grid around its seat, buildings line the roads (densest near the
urban core), and subdistricts, communities, police beats, culture zones and service
points are laid over them. Geometry is built in UTM 48N metres and returned in WGS84.
The same seed always gives the same city.
"""

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.joins import containing_polygon, nearest_geometry
from gis.pinyin import road_pinyin
from gis.reference import load_districts
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


@dataclass(frozen=True)
class Town:
    """How the demo city builds up around one division's seat."""

    share: float  # of all buildings
    radius_m: float
    block_m: float
    urban: bool
    subdistricts: tuple[str, ...]


TOWNS = {
    "640104": Town(0.30, 6500, 420, True, (
        "凤凰北街街道", "解放西街街道", "文化街街道", "富宁街街道", "新华街街道", "玉皇阁北街街道",
        "前进街街道", "中山南街街道", "银古路街道", "胜利街街道", "丽景街街道")),
    "640106": Town(0.25, 6000, 420, True, (
        "满城北街街道", "黄河东路街道", "北京中路街道", "上海西路街道", "长城中路街道",
        "阅海街道", "宝湖街道", "良田街道", "丰登街道")),
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


@dataclass
class City:
    """The demo city as GeoDataFrames with the canonical import fields, in WGS84."""

    divisions: gpd.GeoDataFrame  # code, name, level, parent_code
    roads: gpd.GeoDataFrame  # source_id, name, pinyin, division_code
    buildings: gpd.GeoDataFrame  # source_id, road, number, community, subdistrict, division_code, name, floors
    beats: gpd.GeoDataFrame  # source_id, name, station, officer, phone
    services: gpd.GeoDataFrame  # source_id, name, category, phone, hours
    culture: gpd.GeoDataFrame  # source_id, title, body, road (zones have a polygon, road notes none)


def generate_city(buildings: int = DEFAULT_BUILDINGS, seed: int = 1) -> City:
    """Generate the demo city with `buildings` buildings."""
    if buildings < MIN_BUILDINGS:
        raise ValueError(f"the demo city needs at least {MIN_BUILDINGS} buildings, one per division")
    rng = np.random.default_rng(seed)
    districts = load_districts().to_crs(WORK_CRS)
    districts["seat"] = districts["seat"].to_crs(WORK_CRS)
    quotas = _quotas(buildings)
    road_names = _road_name_sequence(rng)

    road_frames, building_frames = [], []
    for district in districts.itertuples():
        town = TOWNS[district.code]
        roads = _grid_roads(district, town, road_names, rng)
        road_frames.append(roads)
        building_frames.append(_place_buildings(district, town, roads, quotas[district.code], rng))
    roads = pd.concat(road_frames, ignore_index=True)
    placed = pd.concat(building_frames, ignore_index=True)

    subdistricts = _subdistricts(districts, placed, rng)
    placed["subdistrict_code"] = subdistricts["code"].to_numpy()[
        _assign(placed.geometry.centroid, subdistricts.geometry)]
    communities = _communities(subdistricts, placed, rng)
    placed["community_code"] = communities["code"].to_numpy()[
        _assign(placed.geometry.centroid, communities.geometry)]

    divisions = pd.concat([
        gpd.GeoDataFrame({"code": districts["code"], "name": districts["name"], "level": "district",
                          "parent_code": None}, geometry=districts.geometry, crs=WORK_CRS),
        subdistricts[["code", "name", "level", "parent_code", "geometry"]],
        communities[["code", "name", "level", "parent_code", "geometry"]],
    ], ignore_index=True)

    names_by_code = dict(zip(divisions["code"], divisions["name"]))
    building_gdf = gpd.GeoDataFrame({
        "source_id": [f"DEMO-B{i + 1:06d}" for i in range(len(placed))],
        "road": placed["road"],
        "number": placed["number"].astype(str),
        "community": placed["community_code"].map(names_by_code),
        "subdistrict": placed["subdistrict_code"].map(names_by_code),
        "division_code": placed["division_code"],
        "name": placed["name"],
        "floors": placed["floors"],
    }, geometry=placed.geometry, crs=WORK_CRS)

    return City(
        divisions=_polygons(divisions).to_crs(WGS84),
        roads=roads[["source_id", "name", "pinyin", "division_code", "geometry"]].to_crs(WGS84),
        buildings=building_gdf.to_crs(WGS84),
        beats=_beats(communities, subdistricts, rng).to_crs(WGS84),
        services=_services(districts, subdistricts, communities, placed, rng).to_crs(WGS84),
        culture=_culture(roads).to_crs(WGS84),
    )


def _quotas(total: int) -> dict[str, int]:
    codes = list(TOWNS)
    shares = np.array([TOWNS[c].share for c in codes])
    counts = np.maximum(1, np.floor(shares / shares.sum() * total)).astype(int)
    counts[0] += total - counts.sum()  # the urban core absorbs the rounding
    return dict(zip(codes, counts.tolist()))


def _road_name_sequence(rng):
    """Unique name stems: every root once, then every root with each direction."""
    roots = [root for root, _ in ROAD_ROOTS]
    order = rng.permutation(len(roots))
    for direction in ("",) + _DIRECTIONS:
        for i in order:
            yield roots[i] + direction


def _grid_roads(district, town, road_names, rng) -> gpd.GeoDataFrame:
    seat = district.seat
    steps = np.arange(-np.floor(town.radius_m / town.block_m), np.floor(town.radius_m / town.block_m) + 1)
    jitter = rng.uniform(-0.1, 0.1, size=(2, len(steps))) * town.block_m
    xs = seat.x + steps * town.block_m + jitter[0]
    ys = seat.y + steps * town.block_m + jitter[1]
    x0, x1 = seat.x - town.radius_m, seat.x + town.radius_m
    y0, y1 = seat.y - town.radius_m, seat.y + town.radius_m
    lines = [shapely.LineString([(x0, y), (x1, y)]) for y in ys]  # east-west: 路
    lines += [shapely.LineString([(x, y0), (x, y1)]) for x in xs]  # north-south: 街
    east_west = np.array([True] * len(ys) + [False] * len(xs))
    major = np.concatenate([steps % 3 == 0, steps % 3 == 0])
    clipped = shapely.intersection(np.array(lines, dtype=object), district.geometry)
    lengths = shapely.length(clipped)
    keep = lengths >= 3 * town.block_m
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
    roads["source_id"] = [f"DEMO-R{district.code}-{i + 1:03d}" for i in range(len(roads))]
    return roads


def _place_buildings(district, town, roads, quota, rng) -> gpd.GeoDataFrame:
    """Choose `quota` frontage slots along the roads, weighted towards the seat."""
    seat = district.seat
    junction_x = np.array([r.grid_line.coords[0][0] for r in roads.itertuples() if not r.east_west])
    junction_y = np.array([r.grid_line.coords[0][1] for r in roads.itertuples() if r.east_west])
    slots = []
    for road in roads.itertuples():
        (ax, ay), (bx, by) = road.grid_line.coords
        if road.east_west:
            along = np.arange(ax + SLOT_SPACING_M, bx, SLOT_SPACING_M)
            clear = np.min(np.abs(along[:, None] - junction_x[None, :]), axis=1, initial=np.inf)
            along = along[clear > CLEAR_OF_JUNCTION_M]
            centre_x, centre_y = along, np.full_like(along, ay)
            start = ax
        else:
            along = np.arange(ay + SLOT_SPACING_M, by, SLOT_SPACING_M)
            clear = np.min(np.abs(along[:, None] - junction_y[None, :]), axis=1, initial=np.inf)
            along = along[clear > CLEAR_OF_JUNCTION_M]
            centre_x, centre_y = np.full_like(along, ax), along
            start = ay
        on_road = shapely.dwithin(road.geometry, shapely.points(centre_x, centre_y), 1.0)
        index = np.rint((along[on_road] - start) / SLOT_SPACING_M).astype(int)
        for side in (0, 1):  # 0: north/west side, odd numbers; 1: south/east side, even
            slots.append(pd.DataFrame({
                "road": road.name,
                "east_west": road.east_west,
                "side": side,
                "cx": centre_x[on_road],
                "cy": centre_y[on_road],
                "number": 2 * index + 1 + side,
            }))
    slots = pd.concat(slots, ignore_index=True)
    n = len(slots)
    width = rng.uniform(12, SLOT_SPACING_M - 5, n)
    depth = rng.uniform(10, 22, n)
    outward = np.where(slots["side"] == 0, 1.0, -1.0)  # north or west is +y / -x
    ew = slots["east_west"].to_numpy()
    near = FRONTAGE_OFFSET_M
    # Footprint rectangle: along the road by width, away from it by depth.
    x_lo = np.where(ew, slots["cx"] - width / 2,
                    slots["cx"] - outward * near - np.where(outward > 0, depth, 0))
    x_hi = np.where(ew, slots["cx"] + width / 2,
                    slots["cx"] - outward * near + np.where(outward > 0, 0, depth))
    y_lo = np.where(ew, slots["cy"] + outward * near - np.where(outward > 0, 0, depth),
                    slots["cy"] - width / 2)
    y_hi = np.where(ew, slots["cy"] + outward * near + np.where(outward > 0, depth, 0),
                    slots["cy"] + width / 2)
    footprints = shapely.box(x_lo, y_lo, x_hi, y_hi)
    shapely.prepare(district.geometry)
    inside = shapely.contains(district.geometry, footprints)
    slots, footprints = slots[inside].reset_index(drop=True), footprints[inside]
    if len(slots) < quota:
        raise ValueError(
            f"{district.name} has room for {len(slots)} demo buildings, not {quota}: ask for fewer")

    centroids = shapely.centroid(footprints)
    distance = shapely.distance(centroids, seat)
    sigma = town.radius_m * (0.35 if town.urban else 0.3)
    weight = np.exp(-((distance / sigma) ** 2)) + 0.02
    chosen = np.sort(rng.choice(len(slots), size=quota, replace=False, p=weight / weight.sum()))
    slots = slots.iloc[chosen].reset_index(drop=True)
    floors = rng.integers(6, 34, quota) if town.urban else rng.integers(1, 7, quota)
    named = rng.random(quota) < 0.15
    names = np.where(named, [f"{r[:2]}花园{k % 20 + 1}号楼" for r, k in zip(slots["road"], range(quota))], None)
    return gpd.GeoDataFrame({
        "road": slots["road"],
        "number": slots["number"],
        "division_code": district.code,
        "floors": floors,
        "name": names,
    }, geometry=footprints[chosen], crs=WORK_CRS)


def _kmeans_seeds(points: np.ndarray, k: int, rng, iterations: int = 12) -> np.ndarray:
    centres = points[rng.choice(len(points), size=k, replace=False)]
    for _ in range(iterations):
        labels = np.argmin(((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2), axis=1)
        for j in range(k):
            members = points[labels == j]
            if len(members):
                centres[j] = members.mean(axis=0)
    return centres


def _voronoi_cells(seeds: np.ndarray, parent) -> np.ndarray:
    if len(seeds) == 1:
        return np.array([parent], dtype=object)
    diagram = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=parent, ordered=True)
    return shapely.intersection(shapely.get_parts(diagram), parent)


def _building_xy(buildings) -> np.ndarray:
    centroids = buildings.geometry.centroid
    return np.column_stack([centroids.x.to_numpy(), centroids.y.to_numpy()])


def _subdistricts(districts, buildings, rng) -> gpd.GeoDataFrame:
    rows = []
    for district in districts.itertuples():
        names = TOWNS[district.code].subdistricts
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
    roots = [root for root, _ in ROAD_ROOTS]
    names = [r + s + "社区" for s in COMMUNITY_SUFFIXES for r in rng.permutation(roots)]
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
            rows.append({"code": f"{sub.code}{i + 1:03d}", "name": names[len(rows)], "level": "community",
                         "parent_code": sub.code, "geometry": cell})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=WORK_CRS)


def _assign(points, polygons) -> np.ndarray:
    """Index of the polygon containing each point; boundary slivers fall to the nearest."""
    index = containing_polygon(points, polygons)
    missing = index < 0
    if missing.any():
        index[missing] = nearest_geometry(np.asarray(points)[missing], polygons)
    return index


def _polygons(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    gdf = gdf.copy()
    gdf["geometry"] = to_multipolygons(gdf.geometry)
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
