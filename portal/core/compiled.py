"""Queries built and compiled by the ORM once per process, then run as SQL with each call's values.

A page's queries differ from one request to the next in their values only, and building and
compiling one costs the ORM 0.2–0.4 ms, often more than running it (issue 14). So a query is built
once with stand-ins ("slots": values no real row has) where a call's values go, compiled, and
kept; a call puts its values where the slots were and runs the SQL through Django's cursor (so
query counting, the debug log and the database wrappers see it as any other query).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Model, QuerySet


@dataclass(frozen=True)
class Compiled:
    sql: str
    params: tuple
    names: tuple[str, ...] = ()
    converters: tuple = ()  # (position, converter functions, expression), as the ORM's compiler applies them


def compile_query(queryset: QuerySet) -> Compiled:
    """The queryset's SQL, its parameters (slots among them) and, for a values() query, its
    column names and the converters the ORM would apply to them (dates on SQLite, JSON, …)."""
    compiler = queryset.query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    query = queryset.query
    names = (*query.extra_select, *query.values_select, *query.annotation_select)
    converters = compiler.get_converters([column for column, _sql, _alias in compiler.select[:compiler.col_count]])
    return Compiled(sql, tuple(params), tuple(names),
                    tuple((pos, tuple(funcs), expr) for pos, (funcs, expr) in converters.items()))


def bind(compiled: Compiled, values: Mapping[Any, Any]) -> list[Any]:
    """The compiled query's parameters with the call's values where the slots were."""
    return [values[param] if type(param) in (int, str) and param in values else param
            for param in compiled.params]


def fetch(compiled: Compiled, params: Sequence[Any]) -> list[list[Any]]:
    """Run a compiled values() query: its rows, converted as the ORM converts them."""
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, params)
        rows = [list(row) for row in cursor.fetchall()]
    for row in rows:
        for pos, funcs, expression in compiled.converters:
            for convert in funcs:
                row[pos] = convert(row[pos], expression, connection)
    return rows


@cache  # a model's fields are fixed once the apps are loaded
def concrete_attnames(model: type[Model]) -> tuple[str, ...]:
    """What from_db takes, in its order: every concrete field's attribute name."""
    return tuple(field.attname for field in model._meta.concrete_fields)


def instance[M: Model](model: type[M], values: Sequence[Any]) -> M:
    """A model instance from one row's values of concrete_attnames(model), as the ORM builds it."""
    return model.from_db(connection.alias, concrete_attnames(model), values)
