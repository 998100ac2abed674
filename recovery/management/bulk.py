"""Bulk loading for the seed commands: rows as tuples, written with COPY on PostgreSQL (executemany elsewhere).

    table = BulkTable(LabResult, ["patient_id", "test", "value", "unit", "collected_at", "source"], now=now)
    table.add((pid, "anc", 0.35, "x10^9/L", collected_at, "csv"))
    table.write(table.take())

Each row gives the named columns in the given order; every other column takes its field's default (a new random
UUID per row for a UUID field, `now` for auto_now(_add), otherwise the field's default), and the primary key its
sequence unless "id" is among the columns (ids reserved with `reserve_ids`). On PostgreSQL a row is encoded to
COPY's text format as it is added (one generated f-string per table: `str()` of dates, aware datetimes, decimals
and numbers is what PostgreSQL reads; text escaped; JSON dumped), so `take()` hands over one string that another
thread can write while this one plans the next rows. Elsewhere `take()` hands over the rows, written with
executemany after each value is adapted by its field (as the ORM would).

`defer_indexes` drops the secondary indexes, unique constraints and foreign keys of some tables (PostgreSQL, in
the caller's transaction) and returns the statements that re-create them as they were (`restore_indexes`): a
load into tables without them, then one sort per index, is several times faster than maintaining them row by row.
The primary keys stay, and so does anything another table's foreign key depends on.
"""

import json
import os
import random
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache

from django.db import connection as default_connection
from django.db import models

_UUIDS = random.Random(int.from_bytes(os.urandom(16)))
_VERSION_MASK = ~((0xF000 << 64) | (0xC000 << 48))
_VERSION_BITS = (0x4000 << 64) | (0x8000 << 48)
TEXT_FIELDS = (models.CharField, models.TextField)  # Slug and Email fields are CharFields
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"


def uuid4_hex() -> str:
    """A random (version 4) UUID as 32 hex digits, as both databases take it (uuid.uuid4 reads os.urandom each
    time: most of a row's cost at this size)."""
    return f"{(_UUIDS.getrandbits(128) & _VERSION_MASK) | _VERSION_BITS:032x}"


def reseed_uuids() -> None:
    """A fresh random state (for a forked process, which would otherwise repeat its parent's UUIDs)."""
    _UUIDS.seed(int.from_bytes(os.urandom(16)))


@lru_cache(maxsize=8192)
def copy_escape(value: str) -> str:
    """Text in COPY's text format: backslash, tab, newline and carriage return escaped."""
    return value.translate(_ESCAPES)


def copy_json(value) -> str:
    return copy_escape(json.dumps(value))


def _expression(field: models.Field, value: str) -> str:
    """The Python expression that encodes `value` (an expression) for `field` in COPY's text format."""
    if isinstance(field, models.BooleanField):
        encoded = f"('t' if {value} else 'f')"
    elif isinstance(field, models.JSONField):
        encoded = f"_json({value})"
    elif isinstance(field, TEXT_FIELDS):
        encoded = f"_escape({value})"
    else:  # numbers, decimals, dates, aware datetimes, UUIDs: str() is what PostgreSQL reads
        encoded = f"{value}"
    if field.null or isinstance(field, models.BooleanField | models.JSONField):
        return f"{{(_null if {value} is None else {encoded})}}"
    return f"{{{encoded}}}"


class BulkTable:
    """Rows of one model's table (the named columns, in that order), written in bulk; see the module docstring."""

    def __init__(self, model, columns: Iterable[str], *, now: datetime, connection=None):
        self.model = model
        self.columns = list(columns)
        self.connection = connection or default_connection
        self.postgres = self.connection.vendor == "postgresql"
        meta = model._meta
        given = {name: i for i, name in enumerate(self.columns)}
        unknown = set(given) - {f.attname for f in meta.concrete_fields}
        if unknown:
            raise ValueError(f"{model.__name__} has no columns {sorted(unknown)}")
        self.fields = [f for f in meta.concrete_fields if f.attname in given or not f.primary_key]
        self.rows: list = []
        ops = self.connection.ops
        self.table = ops.quote_name(meta.db_table)
        self.column_list = ", ".join(ops.quote_name(f.column) for f in self.fields)
        if self.postgres:
            self._encode = self._compile([(f, given.get(f.attname)) for f in self.fields], now)
            self.add = self._add_encoded
        else:
            self._prepare = [self._preparer(f, given.get(f.attname), now) for f in self.fields]
            self.add = self.rows.append

    # --- PostgreSQL: COPY text --------------------------------------------------------------------------------

    def _compile(self, columns, now: datetime):
        """One generated function: row tuple -> a line of COPY text (table column order)."""
        parts, names = [], {"_null": NULL, "_escape": copy_escape, "_json": copy_json, "_uuid": uuid4_hex}
        for field, position in columns:
            if position is not None:
                parts.append(_expression(field, f"r[{position}]"))
            elif isinstance(field, models.UUIDField) and field.has_default():
                parts.append("{_uuid()}")
            else:
                constant = f"_c{len(names)}"
                names[constant] = self._constant_text(field, now)
                parts.append(f"{{{constant}}}")
        source = 'def encode(r):\n    return f"' + "\\t".join(parts) + '\\n"\n'
        exec(source, names)  # noqa: S102 - generated from the model's fields only
        return names["encode"]

    @staticmethod
    def _constant_text(field: models.Field, now: datetime) -> str:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            return str(now)
        value = field.get_default()
        if value is None:
            return NULL
        if isinstance(field, models.BooleanField):
            return "t" if value else "f"
        if isinstance(field, models.JSONField):
            return copy_json(value)
        return copy_escape(str(value))

    def _add_encoded(self, row) -> None:
        self.rows.append(self._encode(row))

    # --- elsewhere: adapted values ----------------------------------------------------------------------------

    def _preparer(self, field: models.Field, position: int | None, now: datetime):
        connection = self.connection
        if position is not None:
            prep = field.get_db_prep_save
            return lambda row: prep(row[position], connection)
        if isinstance(field, models.UUIDField) and field.has_default():
            return lambda row: uuid4_hex()
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = field.get_db_prep_save(now, connection)
        else:
            value = field.get_db_prep_save(field.get_default(), connection)
        return lambda row: value

    # --- both -------------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.rows)

    def extend(self, rows: Iterable) -> None:
        for row in rows:
            self.add(row)

    def take(self):
        """What `write` writes: the rows added since the last take (one string of COPY text on PostgreSQL)."""
        rows = self.rows
        self.rows = []
        if self.postgres:
            return "".join(rows)
        self.add = self.rows.append
        return rows

    def write(self, data, connection=None) -> None:
        """Write what `take` returned, on `connection` (default: this thread's)."""
        if not data:
            return
        connection = connection or default_connection
        with connection.cursor() as cursor:
            if self.postgres:
                with cursor.cursor.copy(f"COPY {self.table} ({self.column_list}) FROM STDIN") as copy:
                    step = 1 << 20
                    for start in range(0, len(data), step):
                        copy.write(data[start : start + step])
                return
            prepare = self._prepare
            values = [[p(row) for p in prepare] for row in data]
            marks = ", ".join(["%s"] * len(prepare))
            sql = f"INSERT INTO {self.table} ({self.column_list}) VALUES ({marks})"  # noqa: S608 - names from the model
            for start in range(0, len(values), 2000):
                cursor.executemany(sql, values[start : start + 2000])


def reserve_ids(model, count: int, connection=None) -> list[int]:
    """`count` new primary keys for `model`'s table: from its sequence on PostgreSQL; elsewhere the ones after the
    largest used (for a writer holding the database's write lock, as SQLite's transaction does once it writes)."""
    connection = connection or default_connection
    if count <= 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, model._meta.pk.column, count],
            )
            return [row[0] for row in cursor.fetchall()]
        quoted = connection.ops.quote_name(table)
        cursor.execute(f"SELECT COALESCE(MAX({connection.ops.quote_name(model._meta.pk.column)}), 0) FROM {quoted}")  # noqa: S608
        last = cursor.fetchone()[0]
        if connection.vendor == "sqlite":  # AUTOINCREMENT never reuses an id, even of a deleted row
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            last = max(last, row[0] if row else 0)
        return list(range(last + 1, last + 1 + count))


# --- indexes ----------------------------------------------------------------------------------------------------

_DEFERRABLE = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), c.conname, pg_get_constraintdef(c.oid)
FROM pg_index i
LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('u', 'x')
WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = i.indexrelid)
ORDER BY 1
"""
_FOREIGN_KEYS = """
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'
ORDER BY 1
"""


def defer_indexes(models_, connection=None) -> list[str]:
    """Drop the secondary indexes, unique constraints and foreign keys of these models' tables (PostgreSQL, in the
    caller's transaction: nothing is dropped for good if the load fails); returns the statements that re-create
    them (`restore_indexes`). Elsewhere nothing is dropped and the list is empty."""
    connection = connection or default_connection
    if connection.vendor != "postgresql":
        return []
    quote = connection.ops.quote_name
    drops, restores, checks = [], [], []
    with connection.cursor() as cursor:
        for model in models_:
            table = quote(model._meta.db_table)
            cursor.execute(_FOREIGN_KEYS, [model._meta.db_table])
            for name, definition in cursor.fetchall():
                drops.insert(0, f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
                checks.append(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")
            cursor.execute(_DEFERRABLE, [model._meta.db_table])
            for index, index_definition, constraint, definition in cursor.fetchall():
                if constraint is None:
                    drops.append(f"DROP INDEX {index}")
                    restores.append(index_definition)
                else:
                    drops.append(f"ALTER TABLE {table} DROP CONSTRAINT {quote(constraint)}")
                    restores.append(f"ALTER TABLE {table} ADD CONSTRAINT {quote(constraint)} {definition}")
        # A table with foreign-key checks still pending in this transaction cannot be altered: run them now (they
        # are deferred again by `restore_indexes`, as Django creates every foreign key).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for statement in drops:
            cursor.execute(statement)
    return restores + checks


def restore_indexes(statements: list[str], connection=None, *, memory: str = "256MB") -> None:
    """Run what `defer_indexes` returned (indexes, then constraints, then foreign keys), with more sort memory."""
    connection = connection or default_connection
    if not statements:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('maintenance_work_mem', %s, true)", [memory])
        for statement in statements:
            cursor.execute(statement)
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def index_definitions(models_, connection=None) -> tuple[list, list]:
    """The indexes (table, name, definition) and constraints (table, name, type, definition) of these tables as
    PostgreSQL describes them (to compare before and after)."""
    connection = connection or default_connection
    tables = [m._meta.db_table for m in models_]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) ORDER BY 1, 2", [tables]
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid::regclass::text = ANY(%s) ORDER BY 1, 2",
            [tables],
        )
        return indexes, cursor.fetchall()
