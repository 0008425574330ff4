import subprocess
import sys
from pathlib import Path

import shapely

import gis
from gis.joins import containing_polygon, nearest_geometry
from gis.shapes import representative_points, to_multilinestrings, to_multipolygons

SQUARE = shapely.box(0, 0, 10, 10)
OTHER = shapely.box(20, 0, 30, 10)


def test_to_multipolygons_keeps_polygon_parts_only():
    mixed = shapely.GeometryCollection([SQUARE, shapely.Point(50, 50), OTHER])
    out = to_multipolygons([SQUARE, None, shapely.Point(1, 1), mixed])
    assert out[0].equals(shapely.MultiPolygon([SQUARE]))
    assert out[1] is None and out[2] is None
    assert out[3].equals(shapely.MultiPolygon([SQUARE, OTHER]))


def test_to_multilinestrings():
    line = shapely.LineString([(0, 0), (1, 1)])
    out = to_multilinestrings([line, SQUARE])
    assert out[0].equals(shapely.MultiLineString([line])) and out[1] is None


def test_representative_point_lies_inside_a_concave_polygon():
    u_shape = shapely.Polygon([(0, 0), (10, 0), (10, 10), (8, 10), (8, 2), (2, 2), (2, 10), (0, 10)])
    assert u_shape.contains(representative_points([u_shape])[0])


def test_containing_polygon_and_nearest():
    points = [shapely.Point(5, 5), shapely.Point(25, 5), shapely.Point(15, 5), shapely.Point(10, 5)]
    assert containing_polygon(points, [SQUARE, OTHER]).tolist() == [0, 1, -1, 0]
    assert nearest_geometry([shapely.Point(16, 5)], [SQUARE, OTHER]).tolist() == [1]


def test_gis_imports_neither_flask_nor_sqlalchemy():
    """Every module of gis/, found on disk, so a new one is checked without being listed here."""
    modules = sorted(f"gis.{path.stem}" for path in Path(gis.__file__).parent.glob("*.py") if path.stem != "__init__")
    assert "gis.files" in modules and "gis.navigation" in modules
    code = (f"import sys, {', '.join(modules)}; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy', 'platesvc')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
