"""Values in and out of the Data API: typed parameters, records, column metadata, JSON.

Parameters (``SqlParameter``): each ``Field`` is sent to PostgreSQL with the type the service
gives it, not left for PostgreSQL to infer. ``longValue`` is a ``bigint``, ``doubleValue`` a
``double precision``, ``booleanValue`` a ``boolean``, ``blobValue`` a ``bytea``, ``isNull`` an
untyped NULL, and a ``stringValue`` is a ``character varying`` unless its ``typeHint`` makes
it a ``json`` (JSON), ``uuid`` (UUID), ``timestamp`` (TIMESTAMP), ``date`` (DATE), ``time``
(TIME) or ``numeric`` (DECIMAL). So the service's well-known errors happen here too, e.g.
comparing a uuid column with a string parameter without ``typeHint: UUID`` fails with
``operator does not exist: uuid = character varying``. ``arrayValue`` parameters are refused
(``Array parameters are not supported.``), as by the service.

Results: integers become ``longValue``, floating point ``doubleValue``, booleans
``booleanValue``, ``bytea`` ``blobValue``, SQL NULL ``isNull: true``, arrays ``arrayValue``
(``longValues``, ``doubleValues``, ``booleanValues``, ``stringValues`` or nested
``arrayValues``), and every other type (``numeric``, dates and times, ``uuid``, ``json``...)
``stringValue`` in PostgreSQL's text form. ``resultSetOptions`` may turn ``numeric`` into
numbers (``decimalReturnType: DOUBLE_OR_LONG``) and integers into strings
(``longReturnType: STRING``). ``formatRecordsAs: JSON`` renders the rows as one JSON array of
objects keyed by column label. Column metadata follows what PostgreSQL's JDBC driver reports
(the service's ``ColumnMetadata`` is JDBC's ``ResultSetMetaData``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.adapt import AdaptersMap, Dumper
from psycopg.types.string import TextLoader

from localcloud.rds.errors import bad_request

# --- parameters ---------------------------------------------------------------------------


class TypedString:
    """A string parameter sent with an explicit PostgreSQL type (see subclasses' ``OID``)."""

    OID = 1043  # character varying
    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value


class VarcharParam(TypedString):
    OID = 1043


class JsonParam(TypedString):
    OID = 114


class UuidParam(TypedString):
    OID = 2950


class TimestampParam(TypedString):
    OID = 1114


class DateParam(TypedString):
    OID = 1082


class TimeParam(TypedString):
    OID = 1083


class DecimalParam(TypedString):
    OID = 1700


class LongParam:
    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value


class DoubleParam:
    __slots__ = ("value",)

    def __init__(self, value: float) -> None:
        self.value = value


TYPE_HINTS: dict[str, type[TypedString]] = {
    "JSON": JsonParam,
    "UUID": UuidParam,
    "TIMESTAMP": TimestampParam,
    "DATE": DateParam,
    "TIME": TimeParam,
    "DECIMAL": DecimalParam,
}


def _typed_dumper(param_class: type[TypedString]) -> type[Dumper]:
    class _Dumper(Dumper):
        oid = param_class.OID

        def dump(self, obj: Any) -> bytes:
            return str(obj.value).encode()

    _Dumper.__name__ = f"{param_class.__name__}Dumper"
    return _Dumper


class _LongDumper(Dumper):
    oid = 20  # bigint

    def dump(self, obj: Any) -> bytes:
        return str(int(obj.value)).encode()


class _DoubleDumper(Dumper):
    oid = 701  # double precision

    def dump(self, obj: Any) -> bytes:
        return repr(float(obj.value)).encode()


def parameter_value(parameter: Mapping[str, Any]) -> Any:
    """The driver value of one ``SqlParameter`` (its ``value`` Field and ``typeHint``)."""
    field_value = parameter.get("value") or {}
    hint = parameter.get("typeHint")
    if hint is not None and hint not in TYPE_HINTS:
        raise bad_request(
            f"Invalid typeHint {hint}: it must be one of {', '.join(sorted(TYPE_HINTS))}"
        )
    if "arrayValue" in field_value:
        raise bad_request("Array parameters are not supported.")
    if field_value.get("isNull") or not field_value:
        return None
    if "stringValue" in field_value:
        param_class = TYPE_HINTS.get(hint or "", VarcharParam)
        return param_class(str(field_value["stringValue"]))
    if "longValue" in field_value:
        return LongParam(int(field_value["longValue"]))
    if "doubleValue" in field_value:
        return DoubleParam(float(field_value["doubleValue"]))
    if "booleanValue" in field_value:
        return bool(field_value["booleanValue"])
    if "blobValue" in field_value:
        raw = field_value["blobValue"]
        return base64.b64decode(raw) if isinstance(raw, str) else bytes(raw)
    raise bad_request(f"Unsupported value for parameter {parameter.get('name')}: {field_value}")


# --- how results are loaded ---------------------------------------------------------------

# Types loaded as Python values (the rest comes back as PostgreSQL's text).
_NATIVE_TYPES = {"int2", "int4", "int8", "oid", "float4", "float8", "bool", "bytea"}


def build_adapters() -> AdaptersMap:
    """psycopg adapters for Data API connections: typed parameters, text for most results."""
    adapters = AdaptersMap(psycopg.adapters)
    for param_class in (
        VarcharParam,
        JsonParam,
        UuidParam,
        TimestampParam,
        DateParam,
        TimeParam,
        DecimalParam,
    ):
        adapters.register_dumper(param_class, _typed_dumper(param_class))
    adapters.register_dumper(LongParam, _LongDumper)
    adapters.register_dumper(DoubleParam, _DoubleDumper)
    for info in psycopg.adapters.types:
        if info.name not in _NATIVE_TYPES:
            adapters.register_loader(info.oid, TextLoader)
    return adapters


# --- records --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultOptions:
    """``resultSetOptions`` of ExecuteStatement."""

    decimal_as_number: bool = False
    long_as_string: bool = False

    @classmethod
    def parse(cls, options: Mapping[str, Any] | None) -> ResultOptions:
        options = options or {}
        decimal = options.get("decimalReturnType", "STRING")
        long = options.get("longReturnType", "LONG")
        if decimal not in ("STRING", "DOUBLE_OR_LONG"):
            raise bad_request(f"Invalid decimalReturnType: {decimal}")
        if long not in ("STRING", "LONG"):
            raise bad_request(f"Invalid longReturnType: {long}")
        return cls(decimal == "DOUBLE_OR_LONG", long == "STRING")


NUMERIC_OID = 1700


def _decimal_number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def to_field(value: Any, type_oid: int, options: ResultOptions) -> dict[str, Any]:
    """One result value as a Data API ``Field``."""
    if value is None:
        return {"isNull": True}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"stringValue": str(value)} if options.long_as_string else {"longValue": value}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"blobValue": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, list):
        return {"arrayValue": _array_value(value, options)}
    text = str(value)
    if type_oid == NUMERIC_OID and options.decimal_as_number:
        number = _decimal_number(text)
        if isinstance(number, int):
            return to_field(number, 20, options)
        return {"doubleValue": number}
    return {"stringValue": text}


def _array_value(items: Sequence[Any], options: ResultOptions) -> dict[str, Any]:
    if any(isinstance(item, list) for item in items):
        return {"arrayValues": [_array_value(item or [], options) for item in items]}
    present = [item for item in items if item is not None]
    if present and all(isinstance(item, bool) for item in present):
        return {"booleanValues": list(items)}
    if present and all(isinstance(item, int) for item in present):
        if options.long_as_string:
            return {"stringValues": [None if i is None else str(i) for i in items]}
        return {"longValues": list(items)}
    if present and all(isinstance(item, (int, float)) for item in present):
        return {"doubleValues": [None if i is None else float(i) for i in items]}
    return {"stringValues": [None if item is None else _as_text(item) for item in items]}


def _as_text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def json_value(value: Any, type_oid: int, options: ResultOptions) -> Any:
    """One result value in ``formattedRecords`` (``formatRecordsAs: JSON``)."""
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, int):
        return str(value) if options.long_as_string else value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, list):
        return [json_value(item, 0, options) for item in value]
    text = str(value)
    if type_oid == NUMERIC_OID and options.decimal_as_number:
        return _decimal_number(text)
    return text


def formatted_records(
    labels: Sequence[str],
    type_oids: Sequence[int],
    rows: Sequence[Sequence[Any]],
    options: ResultOptions,
) -> str:
    return json.dumps(
        [
            {
                label: json_value(value, oid, options)
                for label, oid, value in zip(labels, type_oids, row, strict=True)
            }
            for row in rows
        ],
        separators=(",", ":"),
    )


# --- column metadata ----------------------------------------------------------------------

# java.sql.Types codes PostgreSQL's JDBC driver reports for each type.
_JDBC_TYPES = {
    "bool": -7,
    "bit": -7,
    "int2": 5,
    "int4": 4,
    "oid": -5,
    "int8": -5,
    "float4": 7,
    "float8": 8,
    "money": 8,
    "numeric": 2,
    "bpchar": 1,
    "char": 1,
    "varchar": 12,
    "text": 12,
    "name": 12,
    "date": 91,
    "time": 92,
    "timetz": 92,
    "timestamp": 93,
    "timestamptz": 93,
    "bytea": -2,
    "xml": 2009,
    "refcursor": 2012,
}
_JDBC_ARRAY = 2003
_JDBC_OTHER = 1111
_UNBOUNDED = 2147483647
_CASE_INSENSITIVE = {
    "oid", "int2", "int4", "int8", "float4", "float8", "numeric", "bool", "bit", "varbit",
    "date", "time", "timetz", "timestamp", "timestamptz", "interval", "money",
}  # fmt: skip
_SIGNED = {"int2", "int4", "int8", "float4", "float8", "numeric", "money"}
_FIXED_PRECISION = {
    "bool": 1,
    "int2": 5,
    "int4": 10,
    "oid": 10,
    "int8": 19,
    "float4": 8,
    "float8": 17,
    "date": 13,
    "money": 19,
}
_FLOAT_SCALE = {"float4": 8, "float8": 17}
_SERIALS = {"int2": "smallserial", "int4": "serial", "int8": "bigserial"}


@dataclass(frozen=True)
class PgType:
    oid: int
    name: str
    element_oid: int
    element_name: str | None


@dataclass(frozen=True)
class TableColumn:
    table_name: str
    not_null: bool
    serial: bool
    identity: bool


@dataclass
class ColumnInfo:
    """What the driver tells about one result column."""

    label: str
    type_oid: int
    type_modifier: int
    table_oid: int
    table_column: int
    pg_type: PgType | None = None
    table: TableColumn | None = None


def _precision_and_scale(type_name: str, modifier: int) -> tuple[int, int]:
    if type_name in _FIXED_PRECISION:
        return _FIXED_PRECISION[type_name], _FLOAT_SCALE.get(type_name, 0)
    if type_name == "numeric":
        if modifier < 4:
            return 0, 0
        return ((modifier - 4) >> 16) & 0xFFFF, (modifier - 4) & 0xFFFF
    if type_name in ("varchar", "bpchar"):
        return (modifier - 4, 0) if modifier >= 4 else (_UNBOUNDED, 0)
    if type_name in ("time", "timetz", "timestamp", "timestamptz"):
        fraction = modifier if modifier >= 0 else 6
        base = {"time": 8, "timetz": 14, "timestamp": 19, "timestamptz": 25}[type_name]
        return base + (fraction + 1 if fraction else 0), fraction
    return _UNBOUNDED, 0


def column_metadata(column: ColumnInfo) -> dict[str, Any]:
    """A ``ColumnMetadata`` entry, as PostgreSQL's JDBC driver describes the column."""
    pg_type = column.pg_type
    type_name = pg_type.name if pg_type else "unknown"
    table = column.table
    array = bool(pg_type and pg_type.element_oid)
    jdbc_type = _JDBC_ARRAY if array else _JDBC_TYPES.get(type_name, _JDBC_OTHER)
    element_type = 0
    if array and pg_type and pg_type.element_name:
        element_type = _JDBC_TYPES.get(pg_type.element_name, _JDBC_OTHER)
    auto_increment = bool(table and (table.serial or table.identity))
    reported_name = type_name
    if table and table.serial and type_name in _SERIALS:
        reported_name = _SERIALS[type_name]
    precision, scale = _precision_and_scale(type_name, column.type_modifier)
    return {
        "name": column.label,
        "type": jdbc_type,
        "typeName": reported_name,
        "label": column.label,
        "schemaName": "",
        "tableName": table.table_name if table else "",
        "isAutoIncrement": auto_increment,
        "isSigned": type_name in _SIGNED,
        "isCurrency": type_name == "money",
        "isCaseSensitive": type_name not in _CASE_INSENSITIVE,
        "nullable": 0 if table and table.not_null else 1,
        "precision": precision,
        "scale": scale,
        "arrayBaseColumnType": element_type,
    }


_TYPES_QUERY = """
SELECT t.oid, t.typname, CASE WHEN t.typcategory = 'A' THEN t.typelem ELSE 0 END, e.typname
FROM pg_catalog.pg_type t
LEFT JOIN pg_catalog.pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
WHERE t.oid = ANY(%s)
"""
_TABLES_QUERY = """
SELECT a.attrelid, a.attnum, c.relname, a.attnotnull, a.attidentity <> '',
       COALESCE(pg_catalog.pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%%', false)
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE (a.attrelid, a.attnum) IN (SELECT * FROM unnest(%s::oid[], %s::int2[]))
"""


def describe_columns(conn: psycopg.Connection[Any], columns: list[ColumnInfo]) -> None:
    """Fill in each column's type and table facts from the catalog (one query each)."""
    if not columns:
        return
    with conn.cursor() as cursor:
        cursor.execute(_TYPES_QUERY, ([c.type_oid for c in columns],))
        types = {
            int(oid): PgType(int(oid), str(name), int(elem or 0), elem_name)
            for oid, name, elem, elem_name in cursor.fetchall()
        }
        located = [c for c in columns if c.table_oid and c.table_column > 0]
        tables: dict[tuple[int, int], TableColumn] = {}
        if located:
            cursor.execute(
                _TABLES_QUERY,
                ([c.table_oid for c in located], [c.table_column for c in located]),
            )
            for relid, attnum, relname, not_null, identity, serial in cursor.fetchall():
                tables[(int(relid), int(attnum))] = TableColumn(
                    str(relname), bool(not_null), bool(serial), bool(identity)
                )
    for column in columns:
        column.pg_type = types.get(column.type_oid)
        column.table = tables.get((column.table_oid, column.table_column))
