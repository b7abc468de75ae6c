"""Asset checks per layer. ``build_checks()`` returns every check the Definitions object holds.

See docs/data_quality.md for the data-quality checks, their severities and which ones block
downstream assets; checks/freshness.py (and docs/deployment.md) for the freshness checks of the
landing zone, silver and the report, which never block.
"""

from goodpulse_dagster.checks.bronze import build_bronze_checks
from goodpulse_dagster.checks.freshness import build_freshness_checks
from goodpulse_dagster.checks.gold import build_gold_checks
from goodpulse_dagster.checks.kpi import build_kpi_checks
from goodpulse_dagster.checks.predictions import build_prediction_checks
from goodpulse_dagster.checks.silver import build_silver_checks


def build_checks() -> list:
    return [
        *build_bronze_checks(),
        *build_silver_checks(),
        *build_gold_checks(),
        *build_kpi_checks(),
        *build_freshness_checks(),
        *build_prediction_checks(),
    ]
