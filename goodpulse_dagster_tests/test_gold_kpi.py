"""Gold and KPI transforms against the hand-made silver layer (fixtures/handmade_silver.py).

Every expected value was worked out by hand from the fixture's order table and is written out
literally: the figures at default params in fixtures/handmade_expected.py (shared with
test_handmade_pipeline.py), the ones for other params below; comments show the arithmetic where it
is not obvious. Nothing here calls the code under test to produce an expected value. Default
MetricParams unless a test says otherwise; as_of is 2018-06-30 (the date of o12, the latest order
of any status, which is only 'shipped').
"""

from __future__ import annotations

import math
import re
from datetime import date

import pandas as pd
import pytest

from goodpulse_dagster import schema
from goodpulse_dagster.gold import transforms as gold
from goodpulse_dagster.kpi import transforms as kpi
from goodpulse_dagster.params import MetricParams

try:
    from goodpulse_dagster_tests.fixtures import handmade_expected
    from goodpulse_dagster_tests.fixtures.handmade_silver import (
        HANDMADE_AS_OF,
        build_handmade_silver,
    )
except ModuleNotFoundError:  # pytest's rootdir-less 'prepend' import of a package-less test dir
    from fixtures import handmade_expected
    from fixtures.handmade_silver import HANDMADE_AS_OF, build_handmade_silver

LATER_AS_OF = date(2018, 9, 28)  # HANDMADE_AS_OF + 90 days


# --- Building blocks ---------------------------------------------------------------------------


def by_customer(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("customer_unique_id", ignore_index=True)


def build_customer_tables(silver, params: MetricParams, lifecycle=None) -> gold.CustomerTables:
    return gold.build_customer_tables(
        silver["unified_user_lifecycle"] if lifecycle is None else lifecycle,
        silver["closed_deals"],
        silver["marketing_qualified_leads"],
        silver["sellers"],
        params,
    )


@pytest.fixture(scope="module")
def silver():
    return build_handmade_silver()


def _build(silver, params: MetricParams) -> dict[str, pd.DataFrame]:
    lifecycle = silver["unified_user_lifecycle"]
    customer_tables = build_customer_tables(silver, params)
    # The customer-grain tables come in no particular order: compared by customer.
    c360 = by_customer(gold.to_pandas(customer_tables.customer_360))
    cohorts = gold.build_cohort_retention(lifecycle, params)
    out = {
        "customer_360": c360,
        "customer_segmentation": gold.build_customer_segmentation(c360),
        "cohort_retention": cohorts,
        "customer_unified_lifecycle": by_customer(
            gold.to_pandas(customer_tables.customer_unified_lifecycle)
        ),
    }
    out.update(kpi.build_all_kpis(c360, lifecycle, cohorts, params))
    return out


@pytest.fixture(scope="module")
def built(silver):
    """Everything built with default params: as_of derived from the data (2018-06-30)."""
    return _build(silver, MetricParams())


@pytest.fixture(scope="module")
def built_explicit(silver):
    """Everything built with the same date given explicitly."""
    return _build(silver, MetricParams(as_of=HANDMADE_AS_OF))


def test_the_kpis_need_only_the_customer_360_columns_the_kpi_step_loads(silver, built):
    # The KPI step loads customer_360 with only KPI_CUSTOMER_360_COLUMNS: every KPI table must
    # come out the same from them (a column missing from the list fails the query).
    pruned = built["customer_360"][list(kpi.KPI_CUSTOMER_360_COLUMNS)]
    again = kpi.build_all_kpis(
        pruned, silver["unified_user_lifecycle"], built["cohort_retention"], MetricParams()
    )
    assert list(again) == list(schema.KPI_TABLES)
    for name, table in again.items():
        pd.testing.assert_frame_equal(table, built[name], obj=name)


def frame(columns, rows) -> pd.DataFrame:
    return pd.DataFrame([dict(zip(columns, row, strict=True)) for row in rows], columns=columns)


def assert_frame(actual: pd.DataFrame, columns, rows) -> None:
    """Compare with literal rows: same columns in order, same row order, floats to 1e-9."""
    assert list(actual.columns) == list(columns)
    expected = frame(list(columns), rows)
    if len(expected):
        expected = expected.astype(actual.dtypes.to_dict())
    pd.testing.assert_frame_equal(
        actual.reset_index(drop=True), expected, check_exact=False, rtol=1e-9, atol=1e-12
    )


# --- as_of -------------------------------------------------------------------------------------


def test_as_of_is_date_of_latest_order_of_any_status(silver):
    lifecycle = silver["unified_user_lifecycle"]
    # o12 (shipped, 2018-06-30 15:00) is later than every delivered order (latest: 2018-06-25).
    assert gold.compute_as_of(lifecycle, MetricParams()) == date(2018, 6, 30)
    assert gold.compute_as_of(lifecycle, MetricParams(as_of=LATER_AS_OF)) == LATER_AS_OF
    empty = lifecycle.slice(0, 0)
    assert gold.compute_as_of(empty, MetricParams()) is None


# --- customer_360 ------------------------------------------------------------------------------

# Hand-worked customer_360 at as_of 2018-06-30: handmade_expected.C360_ROWS, with the arithmetic.


def test_customer_360_every_column_with_derived_as_of(built):
    # c11 has only an 'unavailable' order: not a customer.
    assert_frame(built["customer_360"], handmade_expected.C360, handmade_expected.C360_ROWS)


def test_customer_360_with_explicit_as_of(built, built_explicit):
    assert_frame(
        built_explicit["customer_360"], handmade_expected.C360, handmade_expected.C360_ROWS
    )
    pd.testing.assert_frame_equal(built_explicit["customer_360"], built["customer_360"])
    assert built_explicit["northstar"]["as_of"].tolist() == [HANDMADE_AS_OF]


def test_customer_360_later_as_of_shifts_days_and_stages(silver):
    c360 = (
        build_customer_tables(silver, MetricParams(as_of=LATER_AS_OF))
        .customer_360.to_pandas()
        .set_index("customer_unique_id")
    )
    # Every day count grows by 90: c10 95, c06 110, c01 150, c05 180 (Warm, inclusive bound),
    # c08 220, c04 256, c07 301 (At Risk), c02 384, c09 470, c03 534 (Dormant).
    assert c360["recency_days"].to_dict() == {
        "c01": 150, "c02": 384, "c03": 534, "c04": 256, "c05": 180,
        "c06": 110, "c07": 301, "c08": 220, "c09": 470, "c10": 95,
    }  # fmt: skip
    assert c360.loc["c01", "tenure_days"] == 536 + 90
    assert c360["lifecycle_stage"].to_dict() == {
        "c01": "Warm", "c02": "Dormant", "c03": "Dormant", "c04": "At Risk", "c05": "Warm",
        "c06": "Warm", "c07": "At Risk", "c08": "At Risk", "c09": "Dormant", "c10": "Warm",
    }  # fmt: skip
    # The recency order is unchanged, so r_score is too.
    assert c360["r_score"].to_dict() == {
        "c01": 4, "c02": 2, "c03": 1, "c04": 3, "c05": 4,
        "c06": 5, "c07": 2, "c08": 3, "c09": 1, "c10": 5,
    }  # fmt: skip


def test_first_order_tie_is_broken_by_order_id(silver):
    # A second order for c10 at exactly o18's purchase time, with a lower order_id ('o00' <
    # 'o18') and a seller outside the funnel: it becomes the first order, so c10 turns
    # unattributed. Pandas input on purpose (the transforms take pandas or Arrow).
    lifecycle = silver["unified_user_lifecycle"].to_pandas()
    twin = lifecycle[lifecycle["order_id"] == "o18"].copy()
    twin["order_id"] = "o00"
    twin["first_item_seller_id"] = "s_plain"
    twin["first_item_category"] = "toys"
    lifecycle = pd.concat([lifecycle, twin], ignore_index=True)
    params = MetricParams(as_of=HANDMADE_AS_OF)
    tables = build_customer_tables(silver, params, lifecycle)
    c360 = tables.customer_360.to_pandas().set_index("customer_unique_id")
    assert c360.loc["c10", "acquisition_channel"] == "unattributed"
    assert c360.loc["c10", "total_orders"] == 2
    unified = tables.customer_unified_lifecycle.to_pandas().set_index("customer_unique_id")
    assert unified.loc["c10", "first_order_id"] == "o00"
    assert unified.loc["c10", "first_category"] == "toys"
    assert unified.loc["c10", "first_seller_state"] == "PR"


# METRICS.md's code table, transcribed as patterns over the two-digit "r f" code.
METRICS_RFM_TABLE = [
    ("[1-2][1-2]", "Hibernating"),
    ("[1-2][3-4]", "At Risk"),
    ("[1-2]5", "Can't Lose Them"),
    ("3[1-2]", "About To Sleep"),
    ("33", "Need Attention"),
    ("[3-4][4-5]", "Loyal Customers"),
    ("41", "Promising"),
    ("51", "New Customers"),
    ("[4-5][2-3]", "Potential Loyalists"),
    ("5[4-5]", "Champions"),
]


def test_rfm_code_table_matches_metrics_md():
    table = gold.rfm_code_table().to_pylist()
    actual = {(row["r_score"], row["f_score"]): row["rfm_segment"] for row in table}
    assert len(table) == 25
    for r in range(1, 6):
        for f in range(1, 6):
            matches = [
                seg for pattern, seg in METRICS_RFM_TABLE if re.fullmatch(pattern, f"{r}{f}")
            ]
            assert len(matches) == 1, (r, f, matches)
            assert actual[(r, f)] == matches[0]


# --- other gold tables -------------------------------------------------------------------------


def test_customer_segmentation(built):
    assert_frame(
        built["customer_segmentation"],
        schema.CUSTOMER_SEGMENTATION_COLUMNS,
        handmade_expected.CUSTOMER_SEGMENTATION_ROWS,
    )


def test_cohort_retention_both_grains(built):
    rows = handmade_expected.COHORT_RETENTION_ROWS
    assert len(rows) == 21 + (18 + 17 + 15 + 13 + 11 + 7 + 5 + 3 + 1)
    assert_frame(built["cohort_retention"], schema.COHORT_RETENTION_COLUMNS, rows)


def _moved(silver, order_id: str, when: str) -> pd.DataFrame:
    """The lifecycle with order ``order_id`` purchased at ``when`` instead."""
    lifecycle = silver["unified_user_lifecycle"].to_pandas()
    lifecycle.loc[lifecycle["order_id"] == order_id, "order_purchase_timestamp"] = pd.Timestamp(
        when
    )
    return lifecycle


def _partial_periods(cohorts: pd.DataFrame) -> set[tuple[str, date]]:
    rows = cohorts[~cohorts["is_complete"]]
    return set(zip(rows["grain"], rows["period"], strict=True))


JAN, Q1 = ("month", date(2017, 1, 1)), ("quarter", date(2017, 1, 1))
JUN, Q2 = ("month", date(2018, 6, 1)), ("quarter", date(2018, 4, 1))


def test_complete_periods_follow_the_completed_orders(built):
    # Completed orders run from o01 (2017-01-10) to o18 (2018-06-25); o12 (2018-06-30, as_of) is
    # only shipped. The first and the last month and quarter are partial, nothing else.
    assert _partial_periods(built["cohort_retention"]) == {JAN, Q1, JUN, Q2}
    monthly = built["monthly_revenue"]
    assert monthly.loc[~monthly["is_complete"], "month"].tolist() == [JAN[1], JUN[1]]


def test_complete_periods_start_on_the_first_purchase_day(silver):
    # The first completed order on the 1st (at midnight): January and Q1 2017 are complete.
    first = _moved(silver, "o01", "2017-01-01 00:00")
    assert _partial_periods(gold.build_cohort_retention(first, MetricParams())) == {JUN, Q2}
    monthly = kpi.build_monthly_revenue(first, MetricParams())
    assert monthly["mean_monthly_revenue"].iloc[0] == pytest.approx((2570 - 30) / 14)
    # One day later (late on the 2nd): the month and the quarter it opens are partial.
    second = _moved(silver, "o01", "2017-01-02 23:59")
    cohorts = gold.build_cohort_retention(second, MetricParams())
    assert _partial_periods(cohorts) == {JAN, Q1, JUN, Q2}
    monthly = kpi.build_monthly_revenue(second, MetricParams())
    assert monthly["mean_monthly_revenue"].iloc[0] == pytest.approx((2570 - 150 - 30) / 13)


def test_complete_periods_end_on_the_last_purchase_day(silver, built):
    # The last completed order (o18) on the last day of June: June and Q2 2018 are complete.
    last = _moved(silver, "o18", "2018-06-30 08:00")
    cohorts = gold.build_cohort_retention(last, MetricParams())
    assert _partial_periods(cohorts) == {JAN, Q1}
    monthly = kpi.build_monthly_revenue(last, MetricParams())
    assert monthly["mean_monthly_revenue"].iloc[0] == pytest.approx((2570 - 150) / 14)
    # Period 1 of the 2018 Q1 cohort (c08, 0 active) is Q2, now complete: it joins the headline,
    # 1 active of 2 + 2 + 1 + 1 + 1.
    quarter = kpi.build_period1_retention(cohorts).query("grain == 'quarter'")
    assert quarter["is_complete"].all()
    assert (quarter.iloc[0]["cohort_size"], quarter.iloc[0]["period1_active"]) == (7, 1)
    # A day earlier (2018-06-29): June and Q2 are partial again, Q2 is not pooled (1 / 6).
    day_before = _moved(silver, "o18", "2018-06-29 23:00")
    cohorts = gold.build_cohort_retention(day_before, MetricParams())
    assert _partial_periods(cohorts) == {JAN, Q1, JUN, Q2}
    head = kpi.build_period1_retention(cohorts).iloc[0]
    assert (head["grain"], head["is_headline"], head["cohort_size"]) == ("quarter", True, 6)
    assert head["period1_retention"] == pytest.approx(1 / 6)
    # An explicit as_of before the last completed order cuts the span: June complete in the data
    # is partial at as_of 2018-06-29.
    cut = gold.build_cohort_retention(last, MetricParams(as_of=date(2018, 6, 29)))
    assert _partial_periods(cut) == {JAN, Q1, JUN, Q2}
    monthly = kpi.build_monthly_revenue(last, MetricParams(as_of=date(2018, 6, 29)))
    assert monthly.loc[~monthly["is_complete"], "month"].tolist() == [JAN[1], JUN[1]]


def test_period1_headline_without_a_complete_period1_is_null(silver):
    # as_of 2017-02-27: February (every cohort's period 1 so far) is partial, nothing is pooled.
    params = MetricParams(as_of=date(2017, 2, 27))
    p1 = kpi.build_period1_retention(
        gold.build_cohort_retention(silver["unified_user_lifecycle"], params)
    )
    month_head = p1[(p1["grain"] == "month") & p1["is_headline"]].iloc[0]
    assert (month_head["cohort_size"], month_head["is_complete"]) == (0, False)
    assert math.isnan(month_head["period1_retention"])


def test_customer_unified_lifecycle(built):
    unified = built["customer_unified_lifecycle"]
    assert_frame(
        unified[handmade_expected.C360], handmade_expected.C360, handmade_expected.C360_ROWS
    )
    extras = handmade_expected.UNIFIED_LIFECYCLE_EXTRA_COLUMNS
    assert_frame(unified[extras], extras, handmade_expected.UNIFIED_LIFECYCLE_EXTRA_ROWS)


# --- KPI tables --------------------------------------------------------------------------------
# The expected rows at default params are in fixtures/handmade_expected.py, with the arithmetic.


def test_northstar(built):
    assert_frame(
        built["northstar"], schema.KPI_TABLES["northstar"], handmade_expected.NORTHSTAR_ROWS
    )


def test_frequency_distribution(built):
    assert_frame(
        built["frequency_distribution"],
        schema.KPI_TABLES["frequency_distribution"],
        handmade_expected.FREQUENCY_DISTRIBUTION_ROWS,
    )


def test_value_concentration(built):
    assert_frame(
        built["value_concentration"],
        schema.KPI_TABLES["value_concentration"],
        handmade_expected.VALUE_CONCENTRATION_ROWS,
    )


def test_recency_value_pivot_and_health_by_value(built):
    assert_frame(
        built["recency_value_pivot"],
        schema.KPI_TABLES["recency_value_pivot"],
        handmade_expected.RECENCY_VALUE_PIVOT_ROWS,
    )
    assert_frame(
        built["health_by_value"],
        schema.KPI_TABLES["health_by_value"],
        handmade_expected.HEALTH_BY_VALUE_ROWS,
    )


def test_lifecycle_revenue(built):
    assert_frame(
        built["lifecycle_revenue"],
        schema.KPI_TABLES["lifecycle_revenue"],
        handmade_expected.LIFECYCLE_REVENUE_ROWS,
    )


def test_repeat_funnel(built):
    assert_frame(
        built["repeat_funnel"],
        schema.KPI_TABLES["repeat_funnel"],
        handmade_expected.REPEAT_FUNNEL_ROWS,
    )


def test_period1_retention(built):
    assert_frame(
        built["period1_retention"],
        schema.KPI_TABLES["period1_retention"],
        handmade_expected.PERIOD1_RETENTION_ROWS,
    )


def test_monthly_revenue(built):
    assert_frame(
        built["monthly_revenue"],
        schema.KPI_TABLES["monthly_revenue"],
        handmade_expected.MONTHLY_REVENUE_ROWS,
    )


def test_delivery_vs_review(built):
    assert (
        pytest.approx(handmade_expected.DELIVERY_REVIEW_R_BY_HAND, abs=1e-4)
        == handmade_expected.DELIVERY_REVIEW_R
    )
    assert_frame(
        built["delivery_vs_review"],
        schema.KPI_TABLES["delivery_vs_review"],
        handmade_expected.DELIVERY_VS_REVIEW_ROWS,
    )


def test_channel_revenue(built):
    assert_frame(
        built["channel_revenue"],
        schema.KPI_TABLES["channel_revenue"],
        handmade_expected.CHANNEL_REVENUE_ROWS,
    )


def test_city_concentration(built):
    assert_frame(
        built["city_concentration"],
        schema.KPI_TABLES["city_concentration"],
        handmade_expected.CITY_CONCENTRATION_ROWS,
    )


def test_headline_metrics(built):
    assert kpi.headline_metrics("lifecycle_revenue", built["lifecycle_revenue"])[
        "active_revenue_share"
    ] == pytest.approx(605 / 2570)
    p1 = kpi.headline_metrics("period1_retention", built["period1_retention"])
    assert p1["quarter_period1_retention"] == pytest.approx(1 / 6)  # 2018 Q1's period 1 partial
    assert p1["quarter_cohorts"] == 4.0 and p1["month_cohorts"] == 8.0
    assert p1["month_period1_retention"] == pytest.approx(1 / 8)
    north = kpi.headline_metrics("northstar", built["northstar"])
    assert north["total_customers"] == 10.0
    assert north["cancellation_rate"] == pytest.approx(0.05)
    city = kpi.headline_metrics("city_concentration", built["city_concentration"])
    assert city["top_n_revenue_share"] == pytest.approx(2560 / 2570)
    channel = kpi.headline_metrics("channel_revenue", built["channel_revenue"])
    assert channel["attributed_revenue_share"] == pytest.approx(1520 / 2570)  # 2570 - 1050
    value = kpi.headline_metrics("value_concentration", built["value_concentration"])
    assert value["high_value_and_vip_revenue_share"] == pytest.approx(2000 / 2570)
    for name in schema.KPI_TABLES:
        metrics = kpi.headline_metrics(name, built[name])
        assert metrics and all(isinstance(v, float) for v in metrics.values()), name
    with pytest.raises(KeyError):
        kpi.headline_metrics("customer_360", built["customer_360"])


# --- shapes and types --------------------------------------------------------------------------

_DTYPES = {
    schema.VARCHAR: "object",
    schema.DOUBLE: "float64",
    schema.INTEGER: "int64",
    schema.BIGINT: "int64",
    schema.TIMESTAMP: "datetime64[us]",
    schema.DATE: "object",
    "BOOLEAN": "bool",
    # Money is exact: a decimal128(18, 2) ArrowDtype column (stored as DECIMAL(18,2)).
    schema.MONEY: "decimal128(18, 2)[pyarrow]",
}


@pytest.mark.parametrize("name", [*schema.GOLD_TABLES, *schema.KPI_TABLES])
def test_columns_order_and_types(built, name):
    spec = {**schema.GOLD_TABLES, **schema.KPI_TABLES}[name]
    df = built[name]
    assert list(df.columns) == list(spec)
    for col, sql_type in spec.items():
        assert str(df[col].dtype) == _DTYPES[sql_type], (name, col, df[col].dtype)
        if sql_type == schema.DATE:
            assert all(v is None or type(v) is date for v in df[col]), (name, col)


def test_empty_silver_gives_empty_or_zero_tables(silver):
    empty = {name: table.slice(0, 0) for name, table in silver.items()}
    out = _build(empty, MetricParams())
    for name in schema.GOLD_TABLES:
        assert out[name].empty and list(out[name].columns) == list(schema.GOLD_TABLES[name])
    north = out["northstar"].iloc[0]
    assert north["total_customers"] == 0 and north["as_of"] is None
    assert math.isnan(north["aov"])
    assert out["frequency_distribution"]["customers"].tolist() == [0, 0, 0]
    assert out["delivery_vs_review"]["orders"].tolist() == [0] * 6
    assert out["period1_retention"]["is_headline"].tolist() == [True, True]
    assert out["monthly_revenue"].empty and out["city_concentration"].empty


def test_pandas_inputs_match_arrow_inputs(silver, built):
    as_pandas = {name: table.to_pandas() for name, table in silver.items()}
    out = _build(as_pandas, MetricParams())
    for name, df in out.items():
        pd.testing.assert_frame_equal(df, built[name], obj=name)


# --- parameters --------------------------------------------------------------------------------


def test_power_user_threshold_changes_classification(silver):
    out = _build(silver, MetricParams(as_of=HANDMADE_AS_OF, power_user_min_orders=3))
    tiers = out["customer_360"].set_index("customer_unique_id")["frequency_tier"]
    # c02 (3 orders) becomes a Power User; c04 (2) stays Regular.
    assert tiers["c02"] == "Power User" and tiers["c01"] == "Power User"
    assert tiers["c04"] == "Regular"
    assert out["northstar"]["power_users"].tolist() == [2]
    assert_frame(
        out["repeat_funnel"], schema.KPI_TABLES["repeat_funnel"], [(10, 3, 2, 3 / 10, 2 / 3)]
    )
    assert out["frequency_distribution"]["customers"].tolist() == [7, 1, 2]


def test_lifecycle_days_change_stages(silver):
    c360 = _build(silver, MetricParams(as_of=HANDMADE_AS_OF, lifecycle_days=(30, 100, 200)))[
        "customer_360"
    ].set_index("customer_unique_id")
    # recency: c10 5, c06 20 <= 30 Active; c01 60, c05 90 <= 100 Warm; c08 130, c04 166 <= 200
    # At Risk; c07 211, c02 294, c09 380, c03 444 Dormant.
    assert c360["lifecycle_stage"].to_dict() == {
        "c01": "Warm", "c02": "Dormant", "c03": "Dormant", "c04": "At Risk", "c05": "Warm",
        "c06": "Active", "c07": "Dormant", "c08": "At Risk", "c09": "Dormant", "c10": "Active",
    }  # fmt: skip
    assert c360.loc["c01", "segment_label"] == "Warm | High Value | Power User"


def test_completed_statuses_change_what_counts(silver):
    # Counting 'shipped' too brings in c04's o12 (2018-06-30, curitiba, 70).
    c360 = _build(silver, MetricParams(completed_statuses=("delivered", "shipped")))[
        "customer_360"
    ].set_index("customer_unique_id")
    c04 = c360.loc["c04"]
    assert (c04["total_orders"], c04["lifetime_revenue"], c04["recency_days"]) == (3, 570.0, 0)
    assert (c04["customer_city"], c04["customer_state"]) == ("curitiba", "PR")
    assert "c11" not in c360.index  # 'unavailable' still does not count


def test_top_n_cities_and_value_quantiles(silver):
    out = _build(silver, MetricParams(as_of=HANDMADE_AS_OF, top_n_cities=3))
    # 1000 + 750 + 575 = 2325
    assert_frame(
        out["city_concentration"],
        schema.KPI_TABLES["city_concentration"],
        handmade_expected.city_rows(3, 2325 / 2570),
    )
    # Quantiles (0.1, 0.5, 0.9): p10 at 0.9 -> 10 + 0.9 * 10 = 19; p50 at 4.5 -> 75 + 0.5 * 75
    # = 112.5; p90 at 8.1 -> 500 + 0.1 * 500 = 550. Low: c10; Medium: c06 c03 c08 c05;
    # High: c02 c07 c01 c04; VIP: c09.
    params = MetricParams(as_of=HANDMADE_AS_OF, value_quantiles=(0.1, 0.5, 0.9))
    segments = _build(silver, params)["value_concentration"]
    assert segments["customers"].tolist() == [1, 4, 4, 1]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"completed_statuses": ()},
        {"regular_min_orders": 1},
        {"power_user_min_orders": 2},  # must exceed regular_min_orders (2)
        {"value_quantiles": (0.8, 0.2, 0.95)},
        {"value_quantiles": (0.0, 0.5, 0.9)},
        {"value_quantiles": (0.2, 0.8)},
        {"lifecycle_days": (90, 90, 365)},
        {"lifecycle_days": (-1, 180, 365)},
        {"top_n_cities": 0},
    ],
)
def test_params_validation_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        MetricParams(**kwargs)


# --- repeat customers: months and periods, worked out by hand ---------------------------------


def _orders_of(silver, orders: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    """A lifecycle of ``orders`` (order_id, customer, purchase time, status): each a copy of the
    fixture's o01 with those four values changed."""
    template = silver["unified_user_lifecycle"].to_pandas().iloc[[0]]
    rows = []
    for order_id, customer, when, status in orders:
        row = template.copy()
        row["order_id"], row["customer_id"] = order_id, f"{order_id}_cust"
        row["customer_unique_id"], row["order_status"] = customer, status
        row["order_purchase_timestamp"] = pd.Timestamp(when)
        rows.append(row)
    return pd.concat(rows, ignore_index=True)


# a: one order. b: two in January. c: two in January, one in March. d: one in February and one in
# March. e: delivered in January, canceled in March (a canceled order is no activity).
REPEAT_ORDERS = [
    ("r1", "a", "2017-01-05 10:00", "delivered"),
    ("r2", "b", "2017-01-10 10:00", "delivered"),
    ("r3", "b", "2017-01-20 10:00", "delivered"),
    ("r4", "c", "2017-01-03 10:00", "delivered"),
    ("r5", "c", "2017-01-28 10:00", "delivered"),
    ("r6", "c", "2017-03-15 10:00", "delivered"),
    ("r7", "d", "2017-02-11 10:00", "delivered"),
    ("r8", "d", "2017-03-02 10:00", "delivered"),
    ("r9", "e", "2017-01-07 10:00", "delivered"),
    ("r10", "e", "2017-03-09 10:00", "canceled"),
]


def test_active_months_count_the_months_with_a_completed_order(silver):
    lifecycle = _orders_of(silver, REPEAT_ORDERS)
    tables = build_customer_tables(silver, MetricParams(), lifecycle=lifecycle)
    c360 = by_customer(gold.to_pandas(tables.customer_360))
    assert c360[["customer_unique_id", "total_orders", "active_months"]].values.tolist() == [
        ["a", 1, 1],
        ["b", 2, 1],
        ["c", 3, 2],
        ["d", 2, 2],
        ["e", 1, 1],
    ]


def test_cohort_retention_follows_repeat_customers_past_their_first_period(silver):
    cohorts = gold.build_cohort_retention(_orders_of(silver, REPEAT_ORDERS), MetricParams())
    got = cohorts[["grain", "cohort", "period_index", "cohort_size", "active_customers"]]
    # Month cohorts: January is a, b, c, e (4): all active in January, none in February (b's
    # second order is in January), c in March (e's March order is canceled). February is d:
    # active then and in March. The data's last period is March 2017. Quarter: all five in Q1.
    jan, feb, q1 = date(2017, 1, 1), date(2017, 2, 1), date(2017, 1, 1)
    assert got.values.tolist() == [
        ["quarter", q1, 0, 5, 5],
        ["month", jan, 0, 4, 4],
        ["month", jan, 1, 4, 0],
        ["month", jan, 2, 4, 1],
        ["month", feb, 0, 1, 1],
        ["month", feb, 1, 1, 1],
    ]
    assert cohorts["retention_rate"].tolist() == [1.0, 1.0, 0.0, 0.25, 1.0, 1.0]
