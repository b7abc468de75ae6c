"""Gold and KPI transforms against the hand-made silver layer (fixtures/handmade_silver.py).

Every expected value below was worked out by hand from the fixture's order table and is written out
literally; comments show the arithmetic where it is not obvious. Nothing here calls the code under
test to produce an expected value. Default MetricParams unless a test says otherwise; as_of is
2018-06-30 (the date of o12, the latest order of any status, which is only 'shipped').
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime

import pandas as pd
import pytest

from goodpulse_dagster import schema
from goodpulse_dagster.transforms import gold, kpi
from goodpulse_dagster.transforms.params import MetricParams

try:
    from goodpulse_dagster_tests.fixtures.handmade_silver import (
        HANDMADE_AS_OF,
        build_handmade_silver,
    )
except ModuleNotFoundError:  # pytest's rootdir-less 'prepend' import of a package-less test dir
    from fixtures.handmade_silver import HANDMADE_AS_OF, build_handmade_silver

LATER_AS_OF = date(2018, 9, 28)  # HANDMADE_AS_OF + 90 days
TOTAL_REVENUE = 2570.0  # 500 + 150 + 30 + 500 + 75 + 20 + 250 + 35 + 1000 + 10


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def d(text: str) -> date:
    return date.fromisoformat(text)


# --- Building blocks ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def silver():
    return build_handmade_silver()


def _build(silver, params: MetricParams) -> dict[str, pd.DataFrame]:
    lifecycle = silver["unified_user_lifecycle"]
    c360 = gold.build_customer_360(
        lifecycle, silver["closed_deals"], silver["marketing_qualified_leads"], params
    )
    cohorts = gold.build_cohort_retention(lifecycle, params)
    out = {
        "customer_360": c360,
        "customer_segmentation": gold.build_customer_segmentation(c360),
        "cohort_retention": cohorts,
        "customer_unified_lifecycle": gold.build_customer_unified_lifecycle(
            c360, lifecycle, silver["sellers"], params
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


def pearson(xs: list[float], ys: list[float]) -> float:
    """Plain-Python Pearson correlation, independent of DuckDB's corr()."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / math.sqrt(sxx * syy)


# --- as_of -------------------------------------------------------------------------------------


def test_as_of_is_date_of_latest_order_of_any_status(silver):
    lifecycle = silver["unified_user_lifecycle"]
    # o12 (shipped, 2018-06-30 15:00) is later than every delivered order (latest: 2018-06-25).
    assert gold.compute_as_of(lifecycle, MetricParams()) == date(2018, 6, 30)
    assert gold.compute_as_of(lifecycle, MetricParams(as_of=LATER_AS_OF)) == LATER_AS_OF
    empty = lifecycle.slice(0, 0)
    assert gold.compute_as_of(empty, MetricParams()) is None


# --- customer_360 ------------------------------------------------------------------------------

# Hand-worked customer_360 at as_of 2018-06-30 (completed = delivered orders only).
#
# Lifetime revenue, sorted: c10 10, c06 20, c03 30, c08 35, c05 75, c02 150, c07 250, c01 500,
# c04 500, c09 1000 (n = 10). quantile_cont at position q * (n - 1) on the sorted values:
#   p20: 0.2 * 9 = 1.8  -> 20 + 0.8 * (30 - 20)    = 28
#   p80: 0.8 * 9 = 7.2  -> 500 + 0.2 * (500 - 500) = 500   (c01 and c04 sit exactly on it: High)
#   p95: 0.95 * 9 = 8.55 -> 500 + 0.55 * (1000 - 500) = 775
#   Low < 28 <= Medium < 500 <= High < 775 <= VIP.
# recency_days (as_of - last order date): c03 444, c09 380, c02 294, c07 211, c04 166, c08 130,
#   c05 90 (Active: the bound is inclusive), c01 60, c06 20, c10 5.
# r_score = NTILE(5) in that order (oldest first), 2 per tile: c03 c09 -> 1, c02 c07 -> 2,
#   c04 c08 -> 3, c05 c01 -> 4, c06 c10 -> 5.
# m_score = NTILE(5) by revenue ascending, ties by id (c01 before c04 at 500): c10 c06 -> 1,
#   c03 c08 -> 2, c05 c02 -> 3, c07 c01 -> 4, c04 c09 -> 5.
# tenure: e.g. c01 2017-01-10 -> 2018-01-01 is 356 days, + 180 to 2018-06-30 = 536;
#   c02 2017-02-03 -> 332 + 180 = 512; c04 2017-08-20 -> 134 + 180 = 314.
C360 = list(schema.CUSTOMER_360_COLUMNS)
# fmt: off
C360_ROWS = [
    # c01: o01 o02 o03 o04 o05 = 100 + 50 + 80 + 120 + 150 = 500; items 1+2+1+3+1 = 8 -> 1.6;
    # months 2017-01 (o01, o02), 2017-05, 2017-11, 2018-05 = 4; reviews (5+4+5+3+5)/5 = 4.4;
    # delivery (5.5 + 3 + 10.25 + 21.5 + 8) / 5 = 48.25 / 5 = 9.65. r4 f5 -> Loyal Customers.
    ("c01", ts("2017-01-10 10:00"), ts("2018-05-01 08:00"), 5, 500.0, 100.0, 8, 1.6, 536, 60, 4,
     4.4, 9.65, "sao paulo", "SP", "paid_search", "online_big", True, True, "Power User",
     "High Value", "Active", 4, 5, 4, "Loyal Customers", "Active | High Value | Power User"),
    # c02: 60 (two payments) + 40 + 50 = 150; o07 has no review: (4 + 3) / 2 = 3.5;
    # delivery (7 + 12.5 + 11) / 3 = 30.5 / 3; first seller s_empty: origin '' -> unknown.
    ("c02", ts("2017-02-03 11:00"), ts("2017-09-09 16:00"), 3, 150.0, 50.0, 3, 1.0, 512, 294, 3,
     3.5, 30.5 / 3, "belo horizonte", "MG", "unknown", "industry", True, False, "Regular",
     "Medium Value", "At Risk", 2, 3, 3, "At Risk", "At Risk | Medium Value | Regular"),
    # c03: the canceled o09 (2018-03-01) does not count; seller s_plain is not in closed_deals.
    ("c03", ts("2017-04-12 10:00"), ts("2017-04-12 10:00"), 1, 30.0, 30.0, 1, 1.0, 444, 444, 1,
     2.0, 25.0, "recife", "PE", "unattributed", "unattributed", False, False, "One-time",
     "Medium Value", "Dormant", 1, 1, 2, "Hibernating", "Dormant | Medium Value | One-time"),
    # c04: 200 + 300; moved sao paulo -> rio de janeiro; the later shipped o12 (curitiba) is not
    # completed. Reviews (1 + 5) / 2 = 3; delivery (35 + 3.5) / 2 = 19.25; lead_type NULL -> unknown.
    ("c04", ts("2017-08-20 13:00"), ts("2018-01-15 15:00"), 2, 500.0, 250.0, 3, 1.5, 314, 166, 2,
     3.0, 19.25, "rio de janeiro", "RJ", "organic_search", "unknown", True, True, "Regular",
     "High Value", "Warm", 3, 2, 5, "About To Sleep", "Warm | High Value | Regular"),
    # c05: no payment rows, revenue 60 + 15 = 75; recency exactly 90 -> Active.
    ("c05", ts("2018-04-01 10:00"), ts("2018-04-01 10:00"), 1, 75.0, 75.0, 1, 1.0, 90, 90, 1,
     5.0, 4.0, "rio de janeiro", "RJ", "paid_search", "online_big", False, False, "One-time",
     "Medium Value", "Active", 4, 1, 3, "Promising", "Active | Medium Value | One-time"),
    # c06: no review and no delivery date -> both averages NULL; s_other not in closed_deals.
    ("c06", ts("2018-06-10 12:00"), ts("2018-06-10 12:00"), 1, 20.0, 20.0, 1, 1.0, 20, 20, 1,
     None, None, "curitiba", "PR", "unattributed", "unattributed", False, False, "One-time",
     "Low Value", "Active", 5, 1, 1, "New Customers", "Active | Low Value | One-time"),
    ("c07", ts("2017-12-01 09:00"), ts("2017-12-01 09:00"), 1, 250.0, 250.0, 4, 4.0, 211, 211, 1,
     4.0, 15.0, "sao paulo", "SP", "unknown", "industry", False, False, "One-time",
     "Medium Value", "At Risk", 2, 1, 4, "Hibernating", "At Risk | Medium Value | One-time"),
    ("c08", ts("2018-02-20 17:00"), ts("2018-02-20 17:00"), 1, 35.0, 35.0, 1, 1.0, 130, 130, 1,
     3.0, 9.5, "campinas", "SP", "paid_search", "online_big", False, False, "One-time",
     "Medium Value", "Warm", 3, 1, 2, "About To Sleep", "Warm | Medium Value | One-time"),
    ("c09", ts("2017-06-15 10:00"), ts("2017-06-15 10:00"), 1, 1000.0, 1000.0, 2, 2.0, 380, 380,
     1, 5.0, 22.0, "porto alegre", "RS", "unattributed", "unattributed", False, True, "One-time",
     "VIP", "Dormant", 1, 1, 5, "Hibernating", "Dormant | VIP | One-time"),
    ("c10", ts("2018-06-25 10:00"), ts("2018-06-25 10:00"), 1, 10.0, 10.0, 1, 1.0, 5, 5, 1,
     2.0, 3.0, "salvador", "BA", "paid_search", "online_big", False, False, "One-time",
     "Low Value", "Active", 5, 1, 1, "New Customers", "Active | Low Value | One-time"),
]
# fmt: on


def test_customer_360_every_column_with_derived_as_of(built):
    # c11 has only an 'unavailable' order: not a customer.
    assert_frame(built["customer_360"], C360, C360_ROWS)


def test_customer_360_with_explicit_as_of(built, built_explicit):
    assert_frame(built_explicit["customer_360"], C360, C360_ROWS)
    pd.testing.assert_frame_equal(built_explicit["customer_360"], built["customer_360"])
    assert built_explicit["northstar"]["as_of"].tolist() == [HANDMADE_AS_OF]


def test_customer_360_later_as_of_shifts_days_and_stages(silver):
    c360 = gold.build_customer_360(
        silver["unified_user_lifecycle"],
        silver["closed_deals"],
        silver["marketing_qualified_leads"],
        MetricParams(as_of=LATER_AS_OF),
    ).set_index("customer_unique_id")
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
    c360 = gold.build_customer_360(
        lifecycle, silver["closed_deals"], silver["marketing_qualified_leads"], params
    ).set_index("customer_unique_id")
    assert c360.loc["c10", "acquisition_channel"] == "unattributed"
    assert c360.loc["c10", "total_orders"] == 2
    unified = gold.build_customer_unified_lifecycle(
        c360.reset_index(), lifecycle, silver["sellers"], params
    ).set_index("customer_unique_id")
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
        [
            # c06 20 + c10 10
            ("Active | Low Value | One-time", "Active", "Low Value", "One-time", 2, 30.0,
             30 / 2570, 15.0),
            ("Active | Medium Value | One-time", "Active", "Medium Value", "One-time", 1, 75.0,
             75 / 2570, 75.0),
            ("Active | High Value | Power User", "Active", "High Value", "Power User", 1, 500.0,
             500 / 2570, 500.0),
            ("Warm | Medium Value | One-time", "Warm", "Medium Value", "One-time", 1, 35.0,
             35 / 2570, 35.0),
            ("Warm | High Value | Regular", "Warm", "High Value", "Regular", 1, 500.0,
             500 / 2570, 500.0),
            ("At Risk | Medium Value | One-time", "At Risk", "Medium Value", "One-time", 1,
             250.0, 250 / 2570, 250.0),
            ("At Risk | Medium Value | Regular", "At Risk", "Medium Value", "Regular", 1, 150.0,
             150 / 2570, 150.0),
            ("Dormant | Medium Value | One-time", "Dormant", "Medium Value", "One-time", 1, 30.0,
             30 / 2570, 30.0),
            ("Dormant | VIP | One-time", "Dormant", "VIP", "One-time", 1, 1000.0,
             1000 / 2570, 1000.0),
        ],
    )  # fmt: skip


# First completed period per customer, and the periods they were active in (completed orders):
#   quarters: c01 17Q1 (active 17Q1, 17Q2, 17Q4, 18Q2), c02 17Q1 (17Q1, 17Q3), c03 17Q2,
#   c09 17Q2, c04 17Q3 (17Q3, 18Q1), c07 17Q4, c08 18Q1, c05 c06 c10 18Q2. Last quarter: 18Q2.
#   months: c01 2017-01 (01, 05, 11, 2018-05), c02 2017-02 (02, 03, 09), c03 2017-04,
#   c09 2017-06, c04 2017-08 (08, 2018-01), c07 2017-12, c08 2018-02, c05 2018-04,
#   c06 c10 2018-06. Last month: 2018-06.
QUARTER_ROWS = [
    # (cohort, period_index, period, cohort_size, active)
    ("2017-01-01", 0, "2017-01-01", 2, 2),
    ("2017-01-01", 1, "2017-04-01", 2, 1),  # c01
    ("2017-01-01", 2, "2017-07-01", 2, 1),  # c02
    ("2017-01-01", 3, "2017-10-01", 2, 1),  # c01
    ("2017-01-01", 4, "2018-01-01", 2, 0),
    ("2017-01-01", 5, "2018-04-01", 2, 1),  # c01
    ("2017-04-01", 0, "2017-04-01", 2, 2),
    ("2017-04-01", 1, "2017-07-01", 2, 0),
    ("2017-04-01", 2, "2017-10-01", 2, 0),
    ("2017-04-01", 3, "2018-01-01", 2, 0),
    ("2017-04-01", 4, "2018-04-01", 2, 0),
    ("2017-07-01", 0, "2017-07-01", 1, 1),
    ("2017-07-01", 1, "2017-10-01", 1, 0),
    ("2017-07-01", 2, "2018-01-01", 1, 1),  # c04
    ("2017-07-01", 3, "2018-04-01", 1, 0),
    ("2017-10-01", 0, "2017-10-01", 1, 1),
    ("2017-10-01", 1, "2018-01-01", 1, 0),
    ("2017-10-01", 2, "2018-04-01", 1, 0),
    ("2018-01-01", 0, "2018-01-01", 1, 1),
    ("2018-01-01", 1, "2018-04-01", 1, 0),
    ("2018-04-01", 0, "2018-04-01", 3, 3),
]
# Month cohorts: cohort -> (size, last index = months to 2018-06, {index: active}); every other
# index up to the last is present with 0 active.
MONTH_COHORTS = {
    "2017-01-01": (1, 17, {0: 1, 4: 1, 10: 1, 16: 1}),
    "2017-02-01": (1, 16, {0: 1, 1: 1, 7: 1}),
    "2017-04-01": (1, 14, {0: 1}),
    "2017-06-01": (1, 12, {0: 1}),
    "2017-08-01": (1, 10, {0: 1, 5: 1}),
    "2017-12-01": (1, 6, {0: 1}),
    "2018-02-01": (1, 4, {0: 1}),
    "2018-04-01": (1, 2, {0: 1}),
    "2018-06-01": (2, 0, {0: 2}),
}


def _month_start(cohort: str, index: int) -> date:
    start = d(cohort)
    months = start.year * 12 + start.month - 1 + index
    return date(months // 12, months % 12 + 1, 1)


def test_cohort_retention_both_grains(built):
    rows = [
        ("quarter", d(c), i, d(p), size, active, active / size)
        for c, i, p, size, active in QUARTER_ROWS
    ]
    for cohort, (size, last, actives) in MONTH_COHORTS.items():
        for i in range(last + 1):
            active = actives.get(i, 0)
            rows.append(
                ("month", d(cohort), i, _month_start(cohort, i), size, active, active / size)
            )
    assert len(rows) == 21 + (18 + 17 + 15 + 13 + 11 + 7 + 5 + 3 + 1)
    assert_frame(built["cohort_retention"], schema.COHORT_RETENTION_COLUMNS, rows)


def test_customer_unified_lifecycle(built):
    unified = built["customer_unified_lifecycle"]
    assert_frame(unified[C360], C360, C360_ROWS)
    extras = list(schema.CUSTOMER_UNIFIED_LIFECYCLE_COLUMNS)[len(C360) :]
    # (cohort_quarter, cohort_month, first_order_id, first_category, first_payment_type,
    #  first_seller_state): s_other (c06) is missing from sellers; o13 (c05) had no payments;
    #  o18 (c10) has no category; o06 (c02) paid 40 credit_card + 20 voucher.
    assert_frame(
        unified[extras],
        extras,
        [
            (d("2017-01-01"), d("2017-01-01"), "o01", "health_beauty", "credit_card", "SP"),
            (d("2017-01-01"), d("2017-02-01"), "o06", "bed_bath_table", "credit_card", "MG"),
            (d("2017-04-01"), d("2017-04-01"), "o08", "sports_leisure", "boleto", "PR"),
            (d("2017-07-01"), d("2017-08-01"), "o10", "electronics", "credit_card", "RJ"),
            (d("2018-04-01"), d("2018-04-01"), "o13", "toys", None, "SP"),
            (d("2018-04-01"), d("2018-06-01"), "o14", "beleza_saude", "debit_card", None),
            (d("2017-10-01"), d("2017-12-01"), "o15", "furniture_decor", "credit_card", "MG"),
            (d("2018-01-01"), d("2018-02-01"), "o16", "health_beauty", "boleto", "SP"),
            (d("2017-04-01"), d("2017-06-01"), "o17", "watches_gifts", "credit_card", "PR"),
            (d("2018-04-01"), d("2018-06-01"), "o18", None, "voucher", "SP"),
        ],
    )


# --- KPI tables --------------------------------------------------------------------------------


def test_northstar(built):
    assert_frame(
        built["northstar"],
        schema.KPI_TABLES["northstar"],
        [
            (
                10,  # c01..c10 (c11 has no completed order)
                17,  # 20 orders minus canceled o09, shipped o12, unavailable o19
                2570.0,
                2570 / 17,
                3 / 10,  # c01, c02, c04 have 2+ orders
                1,  # c01
                # 15 completed orders with a review (not o07, o14):
                # c01 5+4+5+3+5 = 22, c02 4+3 = 7, c03 2, c04 1+5 = 6, c05 5, c07 4, c08 3,
                # c09 5, c10 2 -> 56
                56 / 15,
                # 16 completed orders with a delivery date (not o14): 195.75 / 16
                195.75 / 16,
                # of those 16, late: o04 o07 o08 o10 o17 -> 11 on time
                11 / 16,
                1 / 20,  # o09 is the only canceled order among all 20
                HANDMADE_AS_OF,
            )
        ],
    )


def test_frequency_distribution(built):
    assert_frame(
        built["frequency_distribution"],
        schema.KPI_TABLES["frequency_distribution"],
        [
            # One-time: c03 c05 c06 c07 c08 c09 c10 = 30+75+20+250+35+1000+10 = 1420
            ("One-time", 7, 1420.0, 1420 / 2570, 1420 / 7, 7 / 10),
            ("Regular", 2, 650.0, 650 / 2570, 325.0, 2 / 10),  # c02 150 + c04 500
            ("Power User", 1, 500.0, 500 / 2570, 500.0, 1 / 10),
        ],
    )


def test_value_concentration(built):
    assert_frame(
        built["value_concentration"],
        schema.KPI_TABLES["value_concentration"],
        [
            ("Low Value", 2, 30.0, 30 / 2570, 15.0, 2 / 10),
            # c03 30 + c08 35 + c05 75 + c02 150 + c07 250 = 540
            ("Medium Value", 5, 540.0, 540 / 2570, 108.0, 5 / 10),
            ("High Value", 2, 1000.0, 1000 / 2570, 500.0, 2 / 10),
            ("VIP", 1, 1000.0, 1000 / 2570, 1000.0, 1 / 10),
        ],
    )


# value_segment x lifecycle_stage: (customers, revenue); the full 4 x 4 grid.
GRID = {
    ("Low Value", "Active"): (2, 30.0),  # c06 c10
    ("Medium Value", "Active"): (1, 75.0),  # c05
    ("Medium Value", "Warm"): (1, 35.0),  # c08
    ("Medium Value", "At Risk"): (2, 400.0),  # c02 150 + c07 250
    ("Medium Value", "Dormant"): (1, 30.0),  # c03
    ("High Value", "Active"): (1, 500.0),  # c01
    ("High Value", "Warm"): (1, 500.0),  # c04
    ("VIP", "Dormant"): (1, 1000.0),  # c09
}
SEGMENT_SIZES = {"Low Value": 2, "Medium Value": 5, "High Value": 2, "VIP": 1}


def test_recency_value_pivot_and_health_by_value(built):
    cells = [(v, s) for v in schema.VALUE_SEGMENTS for s in schema.LIFECYCLE_STAGES]
    assert_frame(
        built["recency_value_pivot"],
        schema.KPI_TABLES["recency_value_pivot"],
        [(v, s, *GRID.get((v, s), (0, 0.0))) for v, s in cells],
    )
    assert_frame(
        built["health_by_value"],
        schema.KPI_TABLES["health_by_value"],
        [
            (v, s, GRID.get((v, s), (0, 0.0))[0], GRID.get((v, s), (0, 0.0))[0] / SEGMENT_SIZES[v])
            for v, s in cells
        ],
    )


def test_lifecycle_revenue(built):
    assert_frame(
        built["lifecycle_revenue"],
        schema.KPI_TABLES["lifecycle_revenue"],
        [
            ("Active", 4, 605.0, 605 / 2570, 4 / 10),  # c01 500 + c05 75 + c06 20 + c10 10
            ("Warm", 2, 535.0, 535 / 2570, 2 / 10),  # c04 500 + c08 35
            ("At Risk", 2, 400.0, 400 / 2570, 2 / 10),  # c02 150 + c07 250
            ("Dormant", 2, 1030.0, 1030 / 2570, 2 / 10),  # c03 30 + c09 1000
        ],
    )


def test_repeat_funnel(built):
    assert_frame(
        built["repeat_funnel"],
        schema.KPI_TABLES["repeat_funnel"],
        [(10, 3, 1, 3 / 10, 1 / 3)],
    )


def test_period1_retention(built):
    assert_frame(
        built["period1_retention"],
        schema.KPI_TABLES["period1_retention"],
        [
            # Quarter: cohorts with an index 1 (not 2018Q2): actives 1+0+0+0+0 / sizes 2+2+1+1+1
            ("quarter", None, True, 7, 1, 1 / 7),
            ("quarter", d("2017-01-01"), False, 2, 1, 0.5),
            ("quarter", d("2017-04-01"), False, 2, 0, 0.0),
            ("quarter", d("2017-07-01"), False, 1, 0, 0.0),
            ("quarter", d("2017-10-01"), False, 1, 0, 0.0),
            ("quarter", d("2018-01-01"), False, 1, 0, 0.0),
            # Month: 8 cohorts of 1 with an index 1 (not 2018-06); only c02 (Feb -> Mar) returns.
            ("month", None, True, 8, 1, 1 / 8),
            ("month", d("2017-01-01"), False, 1, 0, 0.0),
            ("month", d("2017-02-01"), False, 1, 1, 1.0),
            ("month", d("2017-04-01"), False, 1, 0, 0.0),
            ("month", d("2017-06-01"), False, 1, 0, 0.0),
            ("month", d("2017-08-01"), False, 1, 0, 0.0),
            ("month", d("2017-12-01"), False, 1, 0, 0.0),
            ("month", d("2018-02-01"), False, 1, 0, 0.0),
            ("month", d("2018-04-01"), False, 1, 0, 0.0),
        ],
    )


def test_monthly_revenue(built):
    mean = 2570 / 15  # 15 months with a completed order
    assert_frame(
        built["monthly_revenue"],
        schema.KPI_TABLES["monthly_revenue"],
        [
            (d("2017-01-01"), 2, 1, 150.0, 75.0, mean),  # o01 100 + o02 50, both c01
            (d("2017-02-01"), 1, 1, 60.0, 60.0, mean),
            (d("2017-03-01"), 1, 1, 40.0, 40.0, mean),
            (d("2017-04-01"), 1, 1, 30.0, 30.0, mean),
            (d("2017-05-01"), 1, 1, 80.0, 80.0, mean),
            (d("2017-06-01"), 1, 1, 1000.0, 1000.0, mean),
            (d("2017-08-01"), 1, 1, 200.0, 200.0, mean),
            (d("2017-09-01"), 1, 1, 50.0, 50.0, mean),
            (d("2017-11-01"), 1, 1, 120.0, 120.0, mean),
            (d("2017-12-01"), 1, 1, 250.0, 250.0, mean),
            (d("2018-01-01"), 1, 1, 300.0, 300.0, mean),
            (d("2018-02-01"), 1, 1, 35.0, 35.0, mean),
            (d("2018-04-01"), 1, 1, 75.0, 75.0, mean),
            (d("2018-05-01"), 1, 1, 150.0, 150.0, mean),  # the canceled o09 (2018-03) is absent
            (d("2018-06-01"), 2, 2, 30.0, 15.0, mean),  # o14 20 + o18 10
        ],
    )


def test_delivery_vs_review(built):
    # (delivery_days, review) of the 15 completed orders with both (o07: no review; o14: no date)
    pairs = [
        (5.5, 5), (3.0, 4), (10.25, 5), (21.5, 3), (8.0, 5),  # c01
        (7.0, 4), (11.0, 3),  # c02
        (25.0, 2), (35.0, 1), (3.5, 5), (4.0, 5), (15.0, 4), (9.5, 3), (22.0, 5), (3.0, 2),
    ]  # fmt: skip
    r = pearson([x for x, _ in pairs], [y for _, y in pairs])
    assert r == pytest.approx(-0.5629, abs=1e-4)  # negative: slow deliveries score lower
    assert_frame(
        built["delivery_vs_review"],
        schema.KPI_TABLES["delivery_vs_review"],
        [
            # Whole days (floor): o11's 3.5 days is '0-3'. o02 4, o11 5, o18 2.
            ("0-3", 1, 3, 11 / 3, r),
            ("4-7", 2, 3, 14 / 3, r),  # o01 5, o06 4, o13 5
            # o03 5, o05 5, o07 (no review), o20 3, o16 3 -> 5 orders, 16 / 4
            ("8-14", 3, 5, 4.0, r),
            ("15-21", 4, 2, 3.5, r),  # o04 (21.5) 3, o15 4
            ("22-30", 5, 2, 3.5, r),  # o08 2, o17 5
            ("31+", 6, 1, 1.0, r),  # o10
        ],
    )


def test_channel_revenue(built):
    def row(channel, segment, customers, revenue):
        rpc = revenue / customers if customers else None
        return (channel, segment, customers, revenue, customers / 10, revenue / 2570, rpc)

    # paid_search: c01 500 (High), c05 75 + c08 35 (Medium), c10 10 (Low)
    # unattributed: c03 30 (Medium), c06 20 (Low), c09 1000 (VIP)
    # unknown (s_empty): c02 150 + c07 250 (Medium); organic_search: c04 500 (High)
    assert_frame(
        built["channel_revenue"],
        schema.KPI_TABLES["channel_revenue"],
        [
            row("organic_search", None, 1, 500.0),
            row("organic_search", "Low Value", 0, 0.0),
            row("organic_search", "Medium Value", 0, 0.0),
            row("organic_search", "High Value", 1, 500.0),
            row("organic_search", "VIP", 0, 0.0),
            row("paid_search", None, 4, 620.0),
            row("paid_search", "Low Value", 1, 10.0),
            row("paid_search", "Medium Value", 2, 110.0),
            row("paid_search", "High Value", 1, 500.0),
            row("paid_search", "VIP", 0, 0.0),
            row("unattributed", None, 3, 1050.0),
            row("unattributed", "Low Value", 1, 20.0),
            row("unattributed", "Medium Value", 1, 30.0),
            row("unattributed", "High Value", 0, 0.0),
            row("unattributed", "VIP", 1, 1000.0),
            row("unknown", None, 2, 400.0),
            row("unknown", "Low Value", 0, 0.0),
            row("unknown", "Medium Value", 2, 400.0),
            row("unknown", "High Value", 0, 0.0),
            row("unknown", "VIP", 0, 0.0),
        ],
    )


CITIES = [
    # (city, state, customers, revenue) by revenue, descending
    ("porto alegre", "RS", 1, 1000.0),  # c09
    ("sao paulo", "SP", 2, 750.0),  # c01 500 + c07 250
    ("rio de janeiro", "RJ", 2, 575.0),  # c04 500 (moved here) + c05 75
    ("belo horizonte", "MG", 1, 150.0),
    ("campinas", "SP", 1, 35.0),
    ("recife", "PE", 1, 30.0),
    ("curitiba", "PR", 1, 20.0),
    ("salvador", "BA", 1, 10.0),
]


def _city_rows(top_n: int, top_share: float):
    return [
        (city, state, n, rev, rev / 2570, rank, rank <= top_n, top_share)
        for rank, (city, state, n, rev) in enumerate(CITIES, start=1)
    ]


def test_city_concentration(built):
    # Default top 7: everything but salvador -> (2570 - 10) / 2570
    assert_frame(
        built["city_concentration"],
        schema.KPI_TABLES["city_concentration"],
        _city_rows(7, 2560 / 2570),
    )


def test_headline_metrics(built):
    assert kpi.headline_metrics("lifecycle_revenue", built["lifecycle_revenue"])[
        "active_revenue_share"
    ] == pytest.approx(605 / 2570)
    p1 = kpi.headline_metrics("period1_retention", built["period1_retention"])
    assert p1["quarter_period1_retention"] == pytest.approx(1 / 7)
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
        _city_rows(3, 2325 / 2570),
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
