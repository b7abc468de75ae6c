"""Gold checks: one row per key, shares and retention rates that make sense, and customer_360
reconciled with silver (customers, completed orders, completed revenue to the cent).

All ERROR and blocking: a gold table that fails one would carry the error into every KPI.
"""

from dagster import AssetCheckResult, AssetIn, AssetKey, asset_check

from goodpulse_dagster.asset_conventions import DUCKDB_POOL
from goodpulse_dagster.engine import Relation
from goodpulse_dagster.quality.checks import (
    Outcome,
    Rule,
    frame_checks,
    key_rule,
    rate_and_share_rules,
    to_result,
)
from goodpulse_dagster.quality.rules import (
    retention_violations,
    revenue_reconciliation,
)
from goodpulse_dagster.resources.storage import AnalyticsSettings
from goodpulse_dagster.resources.warehouse import WarehouseResource
from goodpulse_dagster.schema import GOLD, GOLD_SPECS, GOLD_TABLES, SILVER

LIFECYCLE_KEY = AssetKey([SILVER, "unified_user_lifecycle"])
CUSTOMER_360_KEY = AssetKey([GOLD, "customer_360"])

RECONCILES_DESCRIPTION = (
    "Customers, completed orders and completed revenue (to the cent) of customer_360 equal those "
    "of silver unified_user_lifecycle (completed = analytics.completed_statuses)."
)


def gold_rules(table: str) -> list[Rule]:
    rules = [key_rule(GOLD_SPECS[table].primary_key)]
    if table == "cohort_retention":
        # Its one rate, retention_rate, gets the stricter cohort rule (index 0 is 1) and it has
        # no share column.
        rules.append(
            Rule(
                "retention_valid",
                "retention_rate within [0, 1], active customers within the cohort size, and "
                "index 0 is 1 for every cohort.",
                lambda frame: Outcome(retention_violations(frame)),
                blocking=True,
            )
        )
        return rules
    return rules + rate_and_share_rules(table, GOLD_TABLES[table])


@asset_check(
    asset=CUSTOMER_360_KEY,
    name="reconciles_with_silver",
    description=RECONCILES_DESCRIPTION,
    blocking=True,
    additional_ins={"lifecycle": AssetIn(key=LIFECYCLE_KEY)},
    pool=DUCKDB_POOL,
)
def customer_360_reconciles_with_silver(
    lifecycle, analytics: AnalyticsSettings, warehouse: WarehouseResource
) -> AssetCheckResult:
    # customer_360 is summed where it lies, in the warehouse: its rows never reach Python.
    customer_360 = Relation(f"SELECT * FROM {GOLD}.customer_360")
    with warehouse.engine():
        finding = revenue_reconciliation(lifecycle, customer_360, analytics.completed_statuses)
    return to_result(customer_360_reconciles_with_silver.check_key, Outcome(finding))


def build_gold_checks() -> list:
    checks = [
        frame_checks(f"gold_{table}_checks", AssetKey([GOLD, table]), gold_rules(table))
        for table in GOLD_TABLES
    ]
    return [*checks, customer_360_reconciles_with_silver]
