"""CQL2 filters (OGC API - Features Part 3) on a collection's queryables, as SQL conditions.

pygeofilter parses CQL2 text and CQL2 JSON into its syntax tree; the evaluator here turns
the tree into one SQLAlchemy condition over the collection's property columns. Every value
is a bound parameter, never text in the SQL, and every property must be a queryable of the
collection whose type the value has (so both backends compare alike, and PostgreSQL is never
asked to compare text with a number). Spatial predicates go to the store's `relation`: GiST
on PostGIS, the R*Tree and shapely on SQLite.
"""

import json
from collections.abc import Mapping
from datetime import date, datetime

import shapely
from lark.exceptions import LarkError
from pygeofilter import ast, values
from pygeofilter.backends.evaluator import Evaluator, handle
from pygeofilter.parsers.cql2_json import parse as parse_json
from pygeofilter.parsers.cql2_text import parse as parse_text
from sqlalchemy import Boolean, ColumnElement, Float, Integer, Numeric, String, and_, not_, or_

from platesvc.errors import BadParameterError

LANGUAGES = ("cql2-text", "cql2-json")
GEOMETRY = "geometry"  # the queryable that names a feature's geometry
MAX_FILTER_LENGTH = 20_000
JSON_TYPES = ((Boolean, "boolean"), (Integer, "integer"), ((Float, Numeric), "number"), (String, "string"))
PYTHON_TYPES = {"boolean": (bool,), "integer": (int,), "number": (int, float), "string": (str,)}
# A predicate with the literal first is its converse with the literal second.
CONVERSE = {"CONTAINS": "WITHIN", "WITHIN": "CONTAINS"}


def queryables(properties: Mapping[str, ColumnElement]) -> dict[str, str]:
    """The properties a filter may name, with their JSON Schema type (the rest, JSON, are not queryable)."""
    found = {}
    for name, column in properties.items():
        kind = next((json_type for sql_types, json_type in JSON_TYPES if isinstance(column.type, sql_types)), None)
        if kind is not None:
            found[name] = kind
    return found


def parse(text: str, language: str) -> ast.Node:
    """A filter's syntax tree.

    :raises BadParameterError: not CQL2 in that language.
    """
    if len(text) > MAX_FILTER_LENGTH:
        raise BadParameterError("filter", "a filter of at most %(most)s characters, please", most=MAX_FILTER_LENGTH)
    try:
        tree = parse_json(_as_pygeofilter_reads(json.loads(text))) if language == "cql2-json" else parse_text(text)
    except (LarkError, ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as error:
        raise BadParameterError("filter", "not %(language)s: %(error)s", language=language,
                                error=str(error).splitlines()[0][:300]) from None
    if not isinstance(tree, ast.Node) or isinstance(tree, ast.Attribute | ast.Expression):
        raise BadParameterError("filter", "%(text)s is not a condition", text=repr(text[:100]))
    return tree


def _as_pygeofilter_reads(node):
    """CQL2 JSON as pygeofilter 0.4 reads it: it takes a BBOX's four numbers in another order, and BETWEEN's
    bounds as one list (an earlier draft's form), where the standard has them as two arguments."""
    if isinstance(node, list):
        return [_as_pygeofilter_reads(item) for item in node]
    if not isinstance(node, dict):
        return node
    box = _bbox(node["bbox"]) if len(node) == 1 and isinstance(node.get("bbox"), list) else None
    if box is not None:
        return shapely.geometry.mapping(box)
    read = {key: _as_pygeofilter_reads(value) for key, value in node.items()}
    if read.get("op") == "between":
        arguments = read.get("args")
        if not (isinstance(arguments, list) and len(arguments) == 3):
            raise ValueError("between takes three arguments: the value, its lower and its upper bound")
        read["args"] = [arguments[0], arguments[1:]]
    return read


def condition(tree: ast.Node, properties: Mapping[str, ColumnElement], store, model,
              geometry_column: str) -> ColumnElement:
    """The tree as one condition on `properties` and on the geometry of `model`, in the store's SQL.

    :raises BadParameterError: a property that is not queryable, a value of the wrong type,
        an operation this service does not evaluate.
    """
    return _Condition(properties, store, model, geometry_column).evaluate(tree)


class _Attribute:
    def __init__(self, name: str, column: ColumnElement | None, kind: str):
        self.name, self.column, self.kind = name, column, kind


class _Condition(Evaluator):
    def __init__(self, properties: Mapping[str, ColumnElement], store, model, geometry_column: str):
        self.properties, self.store, self.model, self.geometry_column = properties, store, model, geometry_column
        self.types = queryables(properties)

    @handle(ast.Attribute)
    def attribute(self, node):
        if node.name == GEOMETRY:
            return _Attribute(GEOMETRY, None, GEOMETRY)
        if node.name not in self.types:
            raise BadParameterError("filter", "%(name)s is not queryable here; the queryables are %(queryables)s",
                                    name=repr(node.name), queryables=[GEOMETRY, *self.types])
        return _Attribute(node.name, self.properties[node.name], self.types[node.name])

    @handle(ast.Not)
    def negation(self, node, sub):
        return not_(sub)

    @handle(ast.And)
    def both(self, node, lhs, rhs):
        return and_(lhs, rhs)

    @handle(ast.Or)
    def either(self, node, lhs, rhs):
        return or_(lhs, rhs)

    @handle(ast.Comparison, subclasses=True)
    def comparison(self, node, lhs, rhs):
        operation = node.op.value
        if operation in ("=", "<>"):
            lhs, rhs = self._column(lhs, rhs), self._column(rhs, lhs)
            return lhs == rhs if operation == "=" else lhs != rhs
        lhs, rhs = self._ordered(lhs, rhs), self._ordered(rhs, lhs)
        return {"<": lhs < rhs, "<=": lhs <= rhs, ">": lhs > rhs, ">=": lhs >= rhs}[operation]

    @handle(ast.Between)
    def between(self, node, lhs, low, high):
        found = self._ordered(lhs, low).between(self._column(low, lhs), self._column(high, lhs))
        return not_(found) if node.not_ else found

    @handle(ast.In)
    def in_list(self, node, lhs, *options):
        column = self._column(lhs, *options)
        # One comparison each, not IN's list, which would need its parameters expanded per statement.
        found = or_(*(column == self._column(option, lhs) for option in options))
        return not_(found) if node.not_ else found

    @handle(ast.IsNull)
    def is_null(self, node, lhs):
        column = self._column(lhs)
        return column.is_not(None) if node.not_ else column.is_(None)

    @handle(ast.Like)
    def like(self, node, lhs):
        column = self._column(lhs, node.pattern)
        if not isinstance(node.pattern, str):
            raise BadParameterError("filter", "LIKE takes a text pattern")
        found = self.store.like(column, node.pattern, case_sensitive=not node.nocase)
        return not_(found) if node.not_ else found

    @handle(ast.SpatialComparisonPredicate, subclasses=True)
    def spatial(self, node, lhs, rhs):
        predicate = node.op.value
        if isinstance(rhs, _Attribute) and not isinstance(lhs, _Attribute):
            lhs, rhs, predicate = rhs, lhs, CONVERSE.get(predicate, predicate)
        if not (isinstance(lhs, _Attribute) and lhs.name == GEOMETRY and isinstance(rhs, shapely.Geometry)):
            raise BadParameterError("filter", "S_%(predicate)s compares the feature's geometry with a geometry literal "
                                              "(WKT, GeoJSON or BBOX)", predicate=predicate)
        return self.store.relation(self.model, self.geometry_column, predicate, rhs)

    @handle(values.Geometry)
    def geometry(self, node):
        try:
            found = shapely.geometry.shape(node.geometry)
        except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.GEOSException) as error:
            raise BadParameterError("filter", "not a geometry: %(error)s", error=str(error)) from None
        if found.is_empty or not found.is_valid:
            raise BadParameterError("filter", "%(wkt)s is not a valid geometry", wkt=found.wkt[:100])
        return found

    @handle(values.Envelope)
    def envelope(self, node):
        return _box(node.x1, node.y1, node.x2, node.y2)

    @handle(ast.Function)
    def function(self, node, *arguments):
        box = _bbox(arguments) if node.name.lower() == "bbox" else None
        if box is not None:
            return box
        raise BadParameterError("filter", "%(name)s() is not among the functions evaluated here (BBOX)",
                                name=node.name)

    def adopt(self, node, *sub_args):
        if isinstance(node, bool | int | float | str):
            return node
        if isinstance(node, date | datetime):  # no queryable here holds a time
            raise BadParameterError("filter", "no queryable of these collections holds a date or time")
        name = type(node).__name__
        raise BadParameterError("filter", "%(name)s is not among what this service evaluates: comparisons, LIKE, "
                                          "BETWEEN, IN, IS NULL, AND, OR, NOT and the S_ spatial predicates", name=name)

    def _ordered(self, value, *others):
        """`value` as `_column` gives it, a text column compared by code point (alike on both backends)."""
        column = self._column(value, *others)
        return self.store.in_code_point_order(column) if isinstance(value, _Attribute) else column

    def _column(self, value, *others):
        """`value` as SQL: a queryable's column, or a literal checked against the queryable it is compared with."""
        if isinstance(value, _Attribute):
            if value.column is None:
                raise BadParameterError("filter", "the geometry is compared only by the S_ spatial predicates")
            return value.column
        if isinstance(value, ColumnElement):
            raise BadParameterError("filter", "a condition cannot be compared as a value")
        kinds = {other.kind for other in others if isinstance(other, _Attribute)}
        for kind in kinds:
            if kind == GEOMETRY or not isinstance(value, PYTHON_TYPES[kind]) or (
                    kind != "boolean" and isinstance(value, bool)):
                raise BadParameterError("filter", "%(value)s is not a %(kind)s, as the property it is compared with",
                                        value=repr(value), kind=kind)
        if not kinds:
            raise BadParameterError("filter", "%(value)s must be compared with a queryable", value=repr(value))
        return value


def _bbox(values) -> shapely.Geometry | None:
    """A BBOX's four numbers (six with heights) as its box; None if they are not that."""
    if len(values) not in (4, 6) or not all(isinstance(value, int | float) and not isinstance(value, bool)
                                            for value in values):
        return None
    return _box(*values) if len(values) == 4 else _box(*values[:2], *values[3:5])


def _box(min_x: float, min_y: float, max_x: float, max_y: float) -> shapely.Geometry:
    if not (min_x <= max_x and min_y <= max_y):
        raise BadParameterError("filter", "BBOX takes the lower corner, then the upper one")
    return shapely.box(min_x, min_y, max_x, max_y)
