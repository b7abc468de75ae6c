"""KPI checks: shares that sum to 1, rates within [0, 1], and the northstar reconciled across
the layers (silver unified_user_lifecycle, gold customer_360, kpi northstar).

All ERROR and blocking: the executive report must not publish a figure that fails one.
"""

import pandas as pd
from dagster import AssetCheckResult, AssetIn, AssetKey, asset_check

from goodpulse_dagster.asset_conventions import DUCKDB_POOL
from goodpulse_dagster.gold.checks import CUSTOMER_360_KEY, LIFECYCLE_KEY
from goodpulse_dagster.quality.checks import (
    Outcome,
    Rule,
    frame_checks,
    rate_and_share_rules,
    to_result,
)
from goodpulse_dagster.quality.rules import (
    RECONCILED_GOLD_COLUMNS,
    revenue_reconciliation,
)
from goodpulse_dagster.resources.storage import AnalyticsSettings
from goodpulse_dagster.resources.warehouse import RELATION_INPUT, WarehouseResource
from goodpulse_dagster.schema import KPI, KPI_TABLES

NORTHSTAR_KEY = AssetKey([KPI, "northstar"])


def kpi_rules(table: str) -> list[Rule]:
    return rate_and_share_rules(table, KPI_TABLES[table])


@asset_check(
    asset=NORTHSTAR_KEY,
    name="reconciles_across_layers",
    description=(
        "total_customers, total_orders and total_revenue (to the cent) equal the customers, "
        "completed orders and completed revenue of gold customer_360 and of silver "
        "unified_user_lifecycle."
    ),
    blocking=True,
    additional_ins={
        # Summed where it lies, in the warehouse (only the columns it sums).
        "customer_360": AssetIn(
            key=CUSTOMER_360_KEY,
            metadata={**RELATION_INPUT, "columns": list(RECONCILED_GOLD_COLUMNS)},
        ),
        "lifecycle": AssetIn(key=LIFECYCLE_KEY),
    },
    pool=DUCKDB_POOL,
)
def northstar_reconciles_across_layers(
    northstar: pd.DataFrame,
    customer_360,
    lifecycle,  # a lake dataset (resources/lake_data.py)
    analytics: AnalyticsSettings,
    warehouse: WarehouseResource,
) -> AssetCheckResult:
    with warehouse.engine():
        finding = revenue_reconciliation(
            lifecycle, customer_360, analytics.completed_statuses, northstar=northstar
        )
    return to_result(northstar_reconciles_across_layers.check_key, Outcome(finding))


def build_kpi_checks() -> list:
    checks = [
        frame_checks(f"kpi_{table}_checks", AssetKey([KPI, table]), kpi_rules(table))
        for table in KPI_TABLES
        if kpi_rules(table)
    ]
    return [*checks, northstar_reconciles_across_layers]
