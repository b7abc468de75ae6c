"""A model file -> Spark SQL: the same definition the DuckDB engine runs, translated by SQLGlot.

The steps, in order:

1. ``engine.model_sql``: the model's text with its ``-- include:`` CTEs expanded (the one reader
   of model files).
2. ``bind``: each ``$parameter`` becomes a literal (a string, number, boolean, NULL, DATE or an
   ARRAY of them). Spark Connect binds named arguments too, but not lists of every type, and a
   literal lets the rewrites below see the category lists a model unnests.
3. ``inline_macros``: each call of a macro of ``models/_shared/macros.sql`` is replaced by the
   macro's body with its arguments substituted, in the parsed tree (Spark has no SQL macros, and
   a UDF per session would need registering on every cluster).
4. ``dialect.rewrite``: the constructs SQLGlot does not translate right.
5. SQLGlot writes Spark SQL.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping

import sqlglot
from sqlglot import exp

from goodpulse_dagster.engine import MACROS, model_sql, used_params
from goodpulse_dagster.spark import dialect

READ = "duckdb"
WRITE = "spark"

_MACRO = re.compile(
    r"CREATE\s+OR\s+REPLACE\s+MACRO\s+(?P<name>\w+)\s*\((?P<args>[^)]*)\)\s+AS\s+(?P<body>.*?);",
    re.IGNORECASE | re.DOTALL,
)
_COMMENT = re.compile(r"--[^\n]*")


class TranslationError(ValueError):
    """A model that cannot be translated to Spark SQL (an unbound parameter, a parse error)."""


# --- parameters ----------------------------------------------------------------------------------


def literal(value: object) -> exp.Expression:
    """A parameter value as a SQL literal: str, int, float, bool, None, date, datetime, or a
    list/tuple of those (an ARRAY)."""
    if isinstance(value, bool) or value is None or isinstance(value, str | int | float):
        return exp.convert(value)
    if isinstance(value, dt.datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), "TIMESTAMP")
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, list | tuple):
        return exp.Array(expressions=[literal(v) for v in value])
    raise TranslationError(f"no SQL literal for parameter value {value!r} ({type(value)})")


def bind(tree: exp.Expression, params: Mapping[str, object]) -> exp.Expression:
    """Every ``$name`` of ``tree`` replaced by the literal of ``params[name]``."""

    def visit(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and node.name:
            if node.name not in params:
                raise TranslationError(f"parameter ${node.name} is not bound")
            return literal(params[node.name])
        return node

    return tree.transform(visit)


# --- macros --------------------------------------------------------------------------------------


@functools.cache
def macros() -> dict[str, tuple[tuple[str, ...], exp.Expression]]:
    """The macros of ``models/_shared/macros.sql``: name -> (argument names, parsed body)."""
    text = _COMMENT.sub("", model_sql(MACROS))
    found = {}
    for match in _MACRO.finditer(text):
        args = tuple(a.strip() for a in match.group("args").split(",") if a.strip())
        found[match.group("name").lower()] = (
            args,
            sqlglot.parse_one(match.group("body"), read=READ),
        )
    return found


def _argument(value: exp.Expression) -> exp.Expression:
    """An argument as it goes into a macro body: parenthesised unless atomic, so that
    ``f(a + b)`` with body ``x * 2`` reads ``(a + b) * 2``."""
    atomic = exp.Column | exp.Literal | exp.Paren | exp.Func | exp.Boolean | exp.Null | exp.Array
    return value.copy() if isinstance(value, atomic) else exp.paren(value.copy())


def inline_macros(tree: exp.Expression) -> exp.Expression:
    """Each macro call of ``tree`` replaced by the macro's body, its arguments substituted; a
    macro calling a macro (``clean_lower`` -> ``clean_text``) is inlined in turn."""
    known = macros()

    def visit(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, exp.Anonymous) or str(node.this).lower() not in known:
            return node
        names, body = known[str(node.this).lower()]
        if len(node.expressions) != len(names):
            raise TranslationError(
                f"macro {node.this} takes {len(names)} arguments, got {len(node.expressions)}"
            )
        values = dict(zip(names, node.expressions, strict=True))

        def substitute(part: exp.Expression) -> exp.Expression:
            if isinstance(part, exp.Column) and not part.table and part.name in values:
                return _argument(values[part.name])
            return part

        return inline_macros(body.copy().transform(substitute))

    return tree.transform(visit)


# --- the translation -----------------------------------------------------------------------------


def translate_sql(sql: str, params: Mapping[str, object] | None = None) -> str:
    """DuckDB ``sql`` (one SELECT, ``$parameters`` from ``params``) as Spark SQL."""
    try:
        tree = sqlglot.parse_one(sql, read=READ)
    except sqlglot.errors.ParseError as error:
        raise TranslationError(f"cannot parse: {error}") from error
    tree = bind(tree, used_params(sql, params or {}))
    tree = dialect.rewrite(inline_macros(tree))
    return tree.sql(dialect=WRITE, pretty=True)


def spark_sql(model: str, params: Mapping[str, object] | None = None) -> str:
    """Model ``model`` (``"gold/customer_360"``) as Spark SQL, its parameters bound."""
    try:
        return translate_sql(model_sql(model), params)
    except TranslationError as error:
        raise TranslationError(f"model {model}: {error}") from error
