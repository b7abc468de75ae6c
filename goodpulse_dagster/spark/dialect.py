"""Every DuckDB construct of the models that SQLGlot does not carry to Spark SQL as it means.

SQLGlot (``read="duckdb", write="spark"``) translates most of the models' DuckDB: QUALIFY,
DISTINCT ON, ``list_contains``, ``range``, ``arg_min``, 1-based list indexes, the default NULL
ordering. What it leaves wrong or untranslated is rewritten here, on the parsed DuckDB tree,
before Spark SQL is generated. One function per construct, each saying what DuckDB means and
what Spark writes for it; ``rewrite`` applies them all in order. Each has a hand-worked unit
test in ``goodpulse_dagster_tests/test_spark_translate.py``.

The rewrites assume the model's ``$parameters`` are already literals (``translate.bind``): the
category lists a model unnests are then literal arrays.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

# The function name of an untranslated call (sqlglot keeps unknown functions as Anonymous).


def _is_call(node: exp.Expression, name: str) -> bool:
    return isinstance(node, exp.Anonymous) and str(node.this).lower() == name


def _call(name: str, *args: exp.Expression) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def list_position(tree: exp.Expression) -> exp.Expression:
    """``list_position(list, x)``: DuckDB gives the 1-based position, NULL when ``x`` is absent.
    Spark's ``array_position`` gives 0 when absent, which sorts an unknown label FIRST under the
    models' ``ORDER BY list_position(...) NULLS LAST``: ``NULLIF(array_position(list, x), 0)``."""

    def visit(node: exp.Expression) -> exp.Expression:
        if _is_call(node, "list_position"):
            lst, value = node.expressions
            return exp.Nullif(
                this=_call("ARRAY_POSITION", lst, value), expression=exp.Literal.number(0)
            )
        return node

    return tree.transform(visit)


def exact_quantiles(tree: exp.Expression) -> exp.Expression:
    """``quantile_cont(x, [p, ...])``: DuckDB's exact, linearly interpolated quantiles (a list
    for a list of fractions). SQLGlot writes Spark's ``PERCENTILE_CONT(x, list)``, which Spark
    only knows as an ordered-set aggregate of one fraction. Spark's ``percentile(x, array)``
    is the same exact interpolation ((n - 1) * p between the sorted values), never the
    approximate ``percentile_approx``, so the value-segment cut points agree to the bit."""

    def visit(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.PercentileCont) and node.expression is not None:
            return _call("PERCENTILE", node.this, node.expression)
        return node

    return tree.transform(visit)


def month_intervals(tree: exp.Expression) -> exp.Expression:
    """``to_months(n)``: a DuckDB interval of ``n`` months (``date + to_months(3)``), unknown to
    SQLGlot. Spark's year-month interval of the same length is ``make_ym_interval(0, n)``, and
    ``date + make_ym_interval`` clamps to the month's end as DuckDB does."""

    def visit(node: exp.Expression) -> exp.Expression:
        if _is_call(node, "to_months"):
            return _call("MAKE_YM_INTERVAL", exp.Literal.number(0), node.expressions[0])
        return node

    return tree.transform(visit)


def finite_test(tree: exp.Expression) -> exp.Expression:
    """``isfinite(x)``: not NaN and not infinite (NULL for NULL). Spark has no ``isfinite``:
    ``NOT isnan(x) AND abs(x) < +infinity``, NULL for a NULL ``x`` as in DuckDB."""

    def visit(node: exp.Expression) -> exp.Expression:
        if _is_call(node, "isfinite"):
            (value,) = node.expressions
            infinity = exp.cast(exp.Literal.string("Infinity"), exp.DataType.build("DOUBLE"))
            return exp.paren(
                exp.and_(
                    exp.not_(_call("ISNAN", value.copy())),
                    exp.LT(this=exp.Abs(this=value.copy()), expression=infinity),
                )
            )
        return node

    return tree.transform(visit)


def interval_epochs(tree: exp.Expression) -> exp.Expression:
    """``epoch(a - b)`` of two timestamps: the seconds of the interval between them (DuckDB's
    epoch of an INTERVAL). SQLGlot writes ``unix_timestamp(a - b)``, which Spark refuses for an
    interval. Spark: ``(unix_micros(a) - unix_micros(b)) / 1e6``, each timestamp cast to Spark's
    TIMESTAMP (exact: sessions run in UTC, session.RUNTIME_CONF)."""

    def micros(value: exp.Expression) -> exp.Expression:
        return _call("unix_micros", exp.cast(value.copy(), exp.DataType.build("TIMESTAMP")))

    def visit(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.TimeToUnix) and isinstance(node.this, exp.Sub):
            later, earlier = node.this.this, node.this.expression
            return exp.paren(
                exp.Div(
                    this=exp.paren(exp.Sub(this=micros(later), expression=micros(earlier))),
                    expression=exp.Literal.number("1000000.0"),
                )
            )
        return node

    return tree.transform(visit)


def hugeint(tree: exp.Expression) -> exp.Expression:
    """``::HUGEINT``: DuckDB's 128-bit integer, used for exact sums of whole microseconds. SQLGlot
    writes ``INT128``, which Spark lacks; ``DECIMAL(38,0)`` holds the same sums exactly."""

    def visit(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.INT128:
            return exp.DataType.build("DECIMAL(38,0)")
        return node

    return tree.transform(visit)


# The calendar units a column-valued date_diff may name (the cohort grains), as DuckDB counts
# them: crossed boundaries, from the calendar fields.
_MONTHS_PER_UNIT = {"year": 12, "quarter": 3, "month": 1}


def column_unit_date_diff(tree: exp.Expression) -> exp.Expression:
    """``date_diff(unit, a, b)`` with ``unit`` a column (cohort_retention's grain). SQLGlot takes
    the column for a unit keyword; Spark's ``datediff(unit, ...)`` wants a keyword. DuckDB counts
    the unit boundaries crossed: months = 12 * (year(b) - year(a)) + month(b) - month(a), and a
    quarter or a year is that many months' boundaries of its own field. A CASE over the unit's
    value spells this out for year, quarter, month and day (NULL for any other unit)."""

    def visit(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, exp.DateDiff):
            return node
        unit = node.args.get("unit")
        if not isinstance(unit, exp.Column):
            return node
        end, start = node.this, node.expression

        def field(name: str, value: exp.Expression) -> exp.Expression:
            return _call(name, value.copy())

        years = exp.Sub(this=field("YEAR", end), expression=field("YEAR", start))
        months = exp.Add(
            this=exp.Mul(this=exp.paren(years.copy()), expression=exp.Literal.number(12)),
            expression=exp.paren(
                exp.Sub(this=field("MONTH", end), expression=field("MONTH", start))
            ),
        )
        quarters = exp.Add(
            this=exp.Mul(this=exp.paren(years.copy()), expression=exp.Literal.number(4)),
            expression=exp.paren(
                exp.Sub(this=field("QUARTER", end), expression=field("QUARTER", start))
            ),
        )
        days = _call("DATEDIFF", exp.cast(end.copy(), "DATE"), exp.cast(start.copy(), "DATE"))
        by_unit = {"year": years, "quarter": quarters, "month": months, "day": days}
        case = exp.Case(
            this=exp.Lower(this=exp.Column(this=unit.this.copy(), table=unit.args.get("table")))
        )
        for name, value in by_unit.items():
            case = case.when(exp.Literal.string(name), value)
        return case

    return tree.transform(visit)


def literal_unnests(tree: exp.Expression) -> exp.Expression:
    """``SELECT unnest([...]) AS a, unnest([...]) AS b`` (no FROM): DuckDB unnests the lists side
    by side, and ``generate_subscripts([...], 1)`` numbers them. Spark allows one generator per
    SELECT. The lists are literals (bound parameters), so the rows are written out as
    ``SELECT * FROM VALUES (...), (...) AS t(a, b)``: the same rows, in the same order."""

    def is_literal_array(node: exp.Expression) -> bool:
        return isinstance(node, exp.Array) and all(
            isinstance(e, exp.Literal | exp.Boolean | exp.Null) for e in node.expressions
        )

    def column_of(projection: exp.Expression) -> list[exp.Expression] | None:
        value = projection.unalias()
        if isinstance(value, exp.Explode | exp.Unnest) and is_literal_array(value.this):
            return [e.copy() for e in value.this.expressions]
        if _is_call(value, "generate_subscripts") and is_literal_array(value.expressions[0]):
            count = len(value.expressions[0].expressions)
            return [exp.Literal.number(i) for i in range(1, count + 1)]
        return None

    def visit(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, exp.Select) or node.args.get("from_") or node.args.get("from"):
            return node
        projections = node.expressions
        columns = [column_of(p) for p in projections]
        if not projections or any(c is None for c in columns):
            return node
        if any(not p.alias for p in projections) or len({len(c) for c in columns}) != 1:
            return node
        rows = [exp.Tuple(expressions=list(values)) for values in zip(*columns, strict=True)]
        values = exp.Values(
            expressions=rows,
            alias=exp.TableAlias(
                this=exp.to_identifier("t"),
                columns=[exp.to_identifier(p.alias) for p in projections],
            ),
        )
        return exp.select("*").from_(values)

    return tree.transform(visit)


def nested_generators(tree: exp.Expression) -> exp.Expression:
    """``unnest(list) + x AS y``: DuckDB unnests, then computes on each element. Spark refuses a
    generator inside an expression, so the expression moves into the list:
    ``explode(transform(list, e -> e + x)) AS y``: the same values, in the same order."""

    def visit(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, exp.Select):
            return node
        for projection in node.expressions:
            value = projection.unalias()
            generators = [g for g in value.find_all(exp.Explode, exp.Unnest) if g is not value]
            if len(generators) != 1:
                continue
            (generator,) = generators
            element = exp.to_identifier("_element")
            body = value.copy()
            for g in body.find_all(exp.Explode, exp.Unnest):
                g.replace(exp.column(element))
            lifted = exp.Explode(
                this=exp.Transform(
                    this=generator.this.copy(),
                    expression=exp.Lambda(this=body, expressions=[element]),
                )
            )
            value.replace(lifted)
        return node

    return tree.transform(visit)


def interval_ranges(tree: exp.Expression) -> exp.Expression:
    """``range(start, stop, INTERVAL 3 MONTH)``: DuckDB's times from ``start`` up to, not
    including, ``stop``. SQLGlot guards Spark's ``sequence`` (which includes ``stop``) with a
    comparison of the interval to 0, which Spark refuses (an interval is no number). The
    exclusive end is kept by a filter instead: ``filter(sequence(start, stop, step), t -> t <
    stop)`` (a positive step, as the models use)."""

    def visit(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, exp.GenerateSeries) or not isinstance(
            node.args.get("step"), exp.Interval
        ):
            return node
        start, end, step = node.args["start"], node.args["end"], node.args["step"]
        series = _call("SEQUENCE", start.copy(), end.copy(), step.copy())
        if not node.args.get("is_end_exclusive"):
            return series
        element = exp.to_identifier("_t")
        keep = exp.Lambda(
            this=exp.LT(this=exp.column(element), expression=end.copy()), expressions=[element]
        )
        return _call("FILTER", series, keep)

    return tree.transform(visit)


def star_modifiers(tree: exp.Expression) -> exp.Expression:
    """``* REPLACE (e AS c)`` and ``* RENAME (c AS d)``: DuckDB swaps a column's value or name in
    place. Spark knows ``* EXCEPT (c)`` only, so the column is dropped from the star and its new
    form appended: ``* EXCEPT (c), e AS c``. Only the column's position changes; the models
    read columns by name (the runner selects the declared columns by name), never by position
    after a star. (``EXCLUDE`` is Spark's ``EXCEPT``, which SQLGlot writes.)"""

    def visit(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, exp.Select):
            return node
        projections: list[exp.Expression] = []
        for projection in node.expressions:
            star = projection.this if isinstance(projection, exp.Column) else projection
            if not isinstance(star, exp.Star):
                projections.append(projection)
                continue
            replaced = star.args.pop("replace", None) or []
            renamed = star.args.pop("rename", None) or []
            dropped = [exp.column(a.alias) for a in replaced] + [
                exp.column(r.this.name) for r in renamed
            ]
            if dropped:
                star.set("except_", [*(star.args.get("except_") or []), *dropped])
            projections.append(projection)
            projections.extend(a.copy() for a in replaced)
            table = projection.table if isinstance(projection, exp.Column) else None
            projections.extend(
                exp.alias_(exp.column(r.this.name, table=table), r.alias) for r in renamed
            )
        node.set("expressions", projections)
        return node

    return tree.transform(visit)


def plain_ctes(tree: exp.Expression) -> exp.Expression:
    """``name AS NOT MATERIALIZED (...)``: a DuckDB planning hint (inline the CTE at each use),
    not Spark syntax. Spark inlines a CTE read more than once anyway, unless it decides to
    reuse it; the hint is dropped."""
    for cte in tree.find_all(exp.CTE):
        cte.set("materialized", None)
    return tree


# In the order they run: the literal-list rewrites before SQLGlot's own unnest handling.
REWRITES: tuple[Callable[[exp.Expression], exp.Expression], ...] = (
    plain_ctes,
    star_modifiers,
    literal_unnests,
    nested_generators,
    interval_ranges,
    list_position,
    exact_quantiles,
    month_intervals,
    finite_test,
    interval_epochs,
    hugeint,
    column_unit_date_diff,
)


def rewrite(tree: exp.Expression) -> exp.Expression:
    """``tree`` (a DuckDB model, parameters bound) with every rewrite of this module applied."""
    for step in REWRITES:
        tree = step(tree)
    return tree
