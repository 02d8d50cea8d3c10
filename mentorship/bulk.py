"""Set-based inserts for large imports and publishes: a binary COPY per table on PostgreSQL,
bulk_create elsewhere (SQLite, `make run`).

Django's bulk_create builds a model instance per row and sends every value as a parameter, which
costs tens of microseconds a row: a minute for the 1.3 million rows of a 120,000-person import.
COPY streams the rows as they are. Nothing is read back: where the caller needs the new rows'
keys, they are drawn from the table's own sequence first. COPY sends no signals and runs no
`save()`; callers do what those would (the importer bumps the engine's version).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import Model

BATCH = 2000  # rows per query of the bulk_create fallback


def insert(
    model: type[Model], columns: list[str], rows: Sequence[tuple], *, ids: bool = False
) -> list[int]:
    """Insert `rows`, each the values of `columns` (attribute names: "user_id"), every other
    field taking its default. With `ids`, returns the new rows' primary keys, in order."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        objects = model.objects.bulk_create(
            [model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=BATCH
        )
        return [obj.pk for obj in objects] if ids else []
    if not ids:
        _copy(model, columns, rows)
        return []
    pk = model._meta.pk
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [connection.ops.quote_name(model._meta.db_table), pk.column, len(rows)],
        )
        keys = [key for (key,) in cursor.fetchall()]
    _copy(
        model,
        [pk.attname, *columns],
        ((key, *row) for key, row in zip(keys, rows, strict=True)),
    )
    return keys


def upsert(
    model: type[Model],
    columns: list[str],
    rows: Sequence[tuple],
    *,
    unique: list[str],
    update: list[str],
) -> None:
    """Insert `rows` (as `insert` does); a row that collides with one already there on `unique`
    updates that row's `update` fields instead. On PostgreSQL: COPY into a temporary table, then
    one INSERT ... ON CONFLICT DO UPDATE from it."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(
            [model(**dict(zip(columns, row, strict=True))) for row in rows],
            batch_size=BATCH,
            update_conflicts=True,
            unique_fields=unique,
            update_fields=update,
        )
        return
    quote = connection.ops.quote_name
    meta = model._meta
    table, staging = quote(meta.db_table), quote(f"bulk_{meta.db_table}")
    names = ", ".join(quote(f.column) for f in meta.concrete_fields if f is not meta.pk)
    keys = ", ".join(quote(meta.get_field(name).column) for name in unique)
    changes = ", ".join(
        f"{quote(meta.get_field(name).column)} = EXCLUDED.{quote(meta.get_field(name).column)}"
        for name in update
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {staging} ON COMMIT DROP AS "  # noqa: S608
            f"SELECT {names} FROM {table} WITH NO DATA"
        )
        _copy(model, columns, rows, table=staging)
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {staging} "  # noqa: S608
            f"ON CONFLICT ({keys}) DO UPDATE SET {changes}"
        )
        cursor.execute(f"DROP TABLE {staging}")  # it may be needed again in this transaction


def _copy(
    model: type[Model], columns: list[str], rows: Iterable[tuple], *, table: str = ""
) -> None:
    """COPY `rows` into the model's table (or `table`, quoted); the fields not in `columns`, the
    primary key aside, take their defaults (auto_now fields: now).

    Binary COPY: psycopg writes each value by the column's own type, four times faster than as
    text. The values must then be of that type: JSON as the Python value, not its text."""
    meta = model._meta
    fields = [meta.get_field(name) for name in columns]
    given = {field.attname for field in fields}
    blank = model()
    rest = [f for f in meta.concrete_fields if f.attname not in given and f is not meta.pk]
    defaults = tuple(_copy_value(f, f.pre_save(blank, True)) for f in rest)
    adapt = [
        (index, field)
        for index, field in enumerate(fields)
        if field.get_internal_type() == "JSONField" and field.encoder is not None
    ]
    quote = connection.ops.quote_name
    table = table or quote(meta.db_table)
    names = [field.column for field in [*fields, *rest]]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, atttypid FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            [table],
        )
        types = dict(cursor.fetchall())
        sql = f"COPY {table} ({', '.join(map(quote, names))}) FROM STDIN (FORMAT BINARY)"
        with cursor.copy(sql) as copy:
            copy.set_types([types[name] for name in names])
            for row in rows:
                if adapt:
                    row = list(row)
                    for index, field in adapt:
                        row[index] = _copy_value(field, row[index])
                copy.write_row((*row, *defaults))


def _copy_value(field, value):
    """A value as binary COPY takes it: JSON as the Python value (psycopg writes it as jsonb)
    unless the field has an encoder of its own, everything else as the field prepares it."""
    if field.get_internal_type() == "JSONField" and field.encoder is None:
        return value
    return field.get_db_prep_save(value, connection)
