"""LEFT JOIN a queryset to a pre-aggregated ``GROUP BY`` subquery (Django has no API for it).

A correlated subquery per row (``SELECT SUM(amount) … WHERE invoice_id = outer.id``) makes
PostgreSQL probe an index once per row and sum: on 200,000 invoices 4.4 s. Aggregating
once and joining the sums (``LEFT JOIN (SELECT invoice_id, SUM(amount) … GROUP BY
invoice_id) s ON s.invoice_id = invoice.id``) lets it hash-aggregate and hash-join: about
0.3 s. ``join_sums`` adds such a join to a queryset's FROM clause and returns the column
of the sums, to be used in ``annotate``.

The grouped subquery is restricted to the keys the queryset selects at the time of the
call (``key IN (SELECT pk …)``), so the sums of one invoice read one invoice's rows, not
the whole table's (``restrict=False`` for a report over every row: one scan and hash
aggregate). The join never becomes an INNER JOIN: a row without sums keeps NULL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections
from django.db.models import BooleanField, DecimalField, Field, QuerySet
from django.db.models.expressions import Expression, RawSQL
from django.db.models.sql.constants import LOUTER


class GroupedJoin:
    """One entry of ``Query.alias_map``: ``LEFT OUTER JOIN (<sql>) alias ON alias.key = parent.pk``.

    Implements what ``Query`` and the compiler ask of a join (see
    ``django.db.models.sql.datastructures.Join``).
    """

    filtered_relation = None
    join_field = None

    def __init__(
        self,
        *,
        name: str,
        sql: str,
        params: tuple[Any, ...],
        key: str,
        parent_alias: str,
        parent_column: str,
        table_alias: str | None = None,
    ) -> None:
        self.table_name = name
        self.sql, self.params = sql, params
        self.key, self.parent_column = key, parent_column
        self.parent_alias = parent_alias
        self.table_alias = table_alias
        self.join_type = LOUTER
        self.nullable = True

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        qn = compiler.quote_name_unless_alias
        quote = connection.ops.quote_name
        alias = qn(self.table_alias)
        on = f"{alias}.{quote(self.key)} = {qn(self.parent_alias)}.{quote(self.parent_column)}"
        return f"LEFT OUTER JOIN ({self.sql}) {alias} ON ({on})", self.params

    def relabeled_clone(self, change_map: dict[str, str]) -> GroupedJoin:
        return GroupedJoin(
            name=self.table_name,
            sql=self.sql,
            params=self.params,
            key=self.key,
            parent_alias=change_map.get(self.parent_alias, self.parent_alias),
            parent_column=self.parent_column,
            table_alias=change_map.get(self.table_alias or "", self.table_alias),
        )

    @property
    def identity(self) -> tuple[Any, ...]:
        return (self.__class__, self.table_name, self.sql, self.params, self.parent_alias)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GroupedJoin) and self.identity == other.identity

    def __hash__(self) -> int:
        return hash(self.identity)

    def demote(self) -> GroupedJoin:
        # A missing sum is NULL (→ 0), never a reason to drop the row.
        return self

    def promote(self) -> GroupedJoin:
        return self


def join_sums(
    queryset: QuerySet[Any],
    groups: dict[str, tuple[QuerySet[Any], str]],
    *,
    total: str = "total",
    restrict: bool = True,
    keys_of: QuerySet[Any] | None = None,
) -> dict[str, JoinedColumn]:
    """LEFT JOIN each grouped queryset (``.values(key).annotate(total=Sum(…))``) to
    ``queryset`` in place; ``groups`` maps a name to (grouped queryset, key column).

    Each is restricted to the keys among ``queryset``'s primary keys (as they are now,
    before these joins), or among ``keys_of``'s when given (the rows that need the sums);
    returns the column ``total`` of each join by name (NULL where nothing was grouped).
    Mutates ``queryset.query``: call it on a fresh clone.
    """
    query = queryset.query
    connection = connections[queryset.db]
    quote = connection.ops.quote_name
    keys = (keys_of if keys_of is not None else queryset).values("pk")
    if not query.is_sliced:
        keys = keys.order_by()
    keys_sql: str | None
    try:
        if not restrict:
            # A report over (nearly) every row: one scan and hash aggregate is cheaper.
            raise FullResultSet
        # Compiled on its own, not as Django's subquery: Django would rename its tables
        # (U0, V0 …), which a raw condition naming the table (``bulk.column_in``) misses.
        keys_sql, keys_params = keys.query.get_compiler(connection=connection).as_sql()
    except EmptyResultSet:
        keys_sql, keys_params = "", ()
    except FullResultSet:
        keys_sql, keys_params = None, ()
    except ValueError:
        # The queryset refers to an outer query (an ``Exists``/``Subquery`` over
        # ``OuterRef``): its keys cannot be compiled alone, so the sums are not restricted.
        keys_sql, keys_params = None, ()
    parent_alias = query.get_initial_alias()
    assert parent_alias is not None
    columns = {}
    for name, (grouped, key) in groups.items():
        if keys_sql is None:
            sql, params = grouped.order_by().query.get_compiler(connection=connection).as_sql()
        elif keys_sql:
            column = f"{quote(grouped.model._meta.db_table)}.{quote(key)}"
            condition = RawSQL(  # noqa: S611
                f"{column} IN ({keys_sql})", keys_params, output_field=BooleanField()
            )
            restricted = grouped.filter(condition).order_by()
            sql, params = restricted.query.get_compiler(connection=connection).as_sql()
        else:
            # The queryset selects nothing (``pk__in=[]``): an empty table of sums.
            sql = f"SELECT NULL AS {quote(key)}, NULL AS {quote(total)} WHERE 1 = 0"
            params = ()
        join = GroupedJoin(
            name=name,
            sql=sql,
            params=tuple(params),
            key=key,
            parent_alias=parent_alias,
            parent_column=queryset.model._meta.pk.column,
        )
        alias = query.join(join)  # type: ignore[arg-type]
        columns[name] = JoinedColumn(alias, total, DecimalField(max_digits=14, decimal_places=2))
    return columns


class JoinedColumn(Expression):
    """A column of a ``GroupedJoin`` (follows the join when the query's aliases change)."""

    def __init__(self, alias: str, column: str, output_field: Field[Any, Any]) -> None:
        super().__init__(output_field=output_field)
        self.alias, self.column = alias, column

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        quoted = compiler.quote_name_unless_alias(self.alias)
        return f"{quoted}.{connection.ops.quote_name(self.column)}", []

    def relabeled_clone(self, change_map: Mapping[str, str]) -> JoinedColumn:
        return JoinedColumn(change_map.get(self.alias, self.alias), self.column, self.output_field)

    def get_group_by_cols(self) -> list[Any]:
        return [self]
