"""Write many rows' fields in one statement, faster than Django's ``bulk_update``.

``bulk_update`` builds a CASE expression per field over every row: its Python cost grows
with rows × fields and dominated the billing run. PostgreSQL gets one
``UPDATE … FROM (VALUES …)`` per batch; other databases one UPDATE by primary key per row,
sent together (``executemany``). Only for plain concrete fields (values as the model holds
them); the model's ``save()`` is not called, as with ``bulk_update``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from django.db import connections, models, router

BATCH = 1000


def update_fields(objects: Sequence[models.Model], fields: Sequence[str]) -> int:
    """Write ``fields`` of ``objects`` (all of one model) by primary key; rows written."""
    if not objects:
        return 0
    model = type(objects[0])
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    pk = meta.pk
    assert pk is not None
    columns: list[models.Field] = [pk] + [meta.get_field(name) for name in fields]  # type: ignore[misc]
    table = quote(meta.db_table)
    pk_name, *names = (quote(field.column) for field in columns)
    prepare = [_preparer(field, connection) for field in columns]
    attnames = [field.attname for field in columns]
    written = 0
    with connection.cursor() as cursor:
        for start in range(0, len(objects), BATCH):
            batch = objects[start : start + BATCH]
            rows: list[list[Any]] = [
                [to_db(obj.__dict__[name]) for to_db, name in zip(prepare, attnames, strict=True)]
                for obj in batch
            ]
            if connection.vendor == "postgresql":
                # One array per column: a handful of parameters however many rows.
                types = [str(field.db_type(connection)).split("(")[0] for field in columns]
                arrays = ", ".join(f"%s::{db_type}[]" for db_type in types)
                assignments = ", ".join(f"{name} = v.{name}" for name in names)
                cursor.execute(
                    f"UPDATE {table} SET {assignments} FROM UNNEST({arrays}) "  # noqa: S608
                    f"AS v({', '.join([pk_name, *names])}) "
                    f"WHERE {table}.{pk_name} = v.{pk_name}",
                    [list(column) for column in zip(*rows, strict=True)],
                )
            else:
                assignments = ", ".join(f"{name} = %s" for name in names)
                cursor.executemany(
                    f"UPDATE {table} SET {assignments} WHERE {pk_name} = %s",  # noqa: S608
                    [[*values[1:], values[0]] for values in rows],
                )
            written += cursor.rowcount
    return written


def insert(
    objects: Sequence[models.Model], *, with_ids: bool = False, ignore_conflicts: bool = False
) -> None:
    """Insert new rows: PostgreSQL's COPY, several times faster than ``bulk_create``'s
    INSERT for thousands of rows; other databases ``bulk_create``. Defaults must be set on
    the objects (they are, by the model's constructor); ``auto_now``/``auto_now_add`` fields
    are filled as Django would.

    ``with_ids``: the objects get their primary keys (drawn from the table's sequence
    first). ``ignore_conflicts``: rows that would violate a unique constraint are left out
    (``ON CONFLICT DO NOTHING``; the objects' ids are then not set).
    """
    if not objects:
        return
    model = type(objects[0])
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model.objects.bulk_create(  # type: ignore[attr-defined]
            objects, batch_size=BATCH, ignore_conflicts=ignore_conflicts
        )
        return
    meta = model._meta
    quote = connection.ops.quote_name
    fields = [field for field in meta.concrete_fields if field is not meta.pk]
    table = quote(meta.db_table)
    with connection.cursor() as cursor:
        if with_ids and not ignore_conflicts:
            assert meta.pk is not None
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(objects)],
            )
            for obj, (pk,) in zip(objects, cursor.fetchall(), strict=True):
                obj.pk = pk
            fields = [meta.pk, *fields]
        columns = ", ".join(quote(field.column) for field in fields)
        target = table
        if ignore_conflicts:
            # The rows go to a bare copy of the columns first; the INSERT from it skips
            # what the table's unique constraints refuse.
            target = quote(f"_copy_{meta.db_table}")
            cursor.execute(f"DROP TABLE IF EXISTS {target}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {target} AS SELECT {columns} FROM {table} WITH NO DATA"  # noqa: S608
            )
        with cursor.copy(f"COPY {target} ({columns}) FROM STDIN") as copy:
            automatic = [
                field
                for field in fields
                if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
            ]
            prepare = [_preparer(field, connection) for field in fields]
            names = [field.attname for field in fields]
            for obj in objects:
                # Foreign keys to objects saved since (invoice → line) take their ids now.
                obj._prepare_related_fields_for_save(operation_name="insert")  # type: ignore[attr-defined]
                for field in automatic:
                    field.pre_save(obj, add=True)
                values = obj.__dict__
                copy.write_row(
                    [to_db(values[name]) for to_db, name in zip(prepare, names, strict=True)]
                )
        if ignore_conflicts:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {target} "  # noqa: S608
                "ON CONFLICT DO NOTHING"
            )
            cursor.execute(f"DROP TABLE {target}")


# Fields whose Python values the driver takes as they are (psycopg adapts Decimal, date,
# int, str, bool); others go through Django's conversion.
_PLAIN = (
    models.AutoField,
    models.BigAutoField,
    models.BooleanField,
    models.CharField,
    models.DateField,
    models.DecimalField,
    models.ForeignKey,
    models.IntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.TextField,
)


def _preparer(field: object, connection: object) -> Callable[[object], object]:
    if (
        getattr(connection, "vendor", "") == "postgresql"
        and isinstance(field, _PLAIN)
        and not isinstance(field, models.DateTimeField)
    ):
        return _unchanged
    return partial(field.get_db_prep_save, connection=connection)  # type: ignore[attr-defined]


def _unchanged(value: object) -> object:
    return value


def column_in(model: type[models.Model], column: str, values: Sequence[Any]) -> Any:
    """A condition ``column IN values`` on ``model``'s own table (the queryset's base).

    On PostgreSQL one array parameter (``= ANY(%s)``): a chunk's thousand ids as separate
    parameters cost more to prepare and send (about 15 ms per query, Django's lookup and
    psycopg's query splitting) than the query takes. Elsewhere a plain ``IN`` list.
    """
    from django.db.models import BooleanField, Q
    from django.db.models.expressions import RawSQL

    field = model._meta.get_field(column)
    connection = connections[router.db_for_read(model)]
    if connection.vendor != "postgresql":
        return Q(**{f"{field.name}__in": list(values)})
    quote = connection.ops.quote_name
    name = f"{quote(model._meta.db_table)}.{quote(getattr(field, 'column', column))}"
    # Quoted names of the model, the values as one parameter: nothing from the input.
    return RawSQL(f"{name} = ANY(%s)", (list(values),), output_field=BooleanField())  # noqa: S611
