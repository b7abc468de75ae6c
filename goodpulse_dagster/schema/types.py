"""Layer names, lake columns, SQL types and category vocabularies shared by every table spec.

Types are DuckDB SQL types. Raw files are read as text and cast with ``TRY_CAST`` in bronze, so a
value that does not parse is caught (and quarantined) instead of failing the whole file. Money is
``MONEY`` (DECIMAL(18,2)): 'NaN', 'inf' or '12;50' in a money column does not parse and is
rejected in bronze.
"""

from __future__ import annotations

# Layers, also the asset key prefixes and group names. RAW: the landing-zone files.
RAW = "raw"
BRONZE = "bronze"
SILVER = "silver"
GOLD = "gold"
KPI = "kpi"
REPORT = "report"
QUARANTINE = "quarantine"
# The one asset of the report layer.
EXECUTIVE_REPORT = "executive_report"

# Column added to every order-grain bronze/silver table: the first day of the purchase quarter of
# the row's order (DATE). It is the partition key of the row, kept so that reading several
# partitions back still tells which quarter each row came from.
PARTITION_COLUMN = "_partition"
# Ingestion columns added in bronze.
SOURCE_FILE_COLUMN = "_source_file"
INGESTED_AT_COLUMN = "_ingested_at"
INGESTION_COLUMNS = (SOURCE_FILE_COLUMN, INGESTED_AT_COLUMN)

TIMESTAMP = "TIMESTAMP"
VARCHAR = "VARCHAR"
DOUBLE = "DOUBLE"
INTEGER = "INTEGER"
BIGINT = "BIGINT"
DATE = "DATE"
# Money (R$): exact decimals with two places, end to end (source amounts, silver, gold, KPI), so the
# same input always gives bit-identical totals whatever order DuckDB sums in. A SUM of it is a
# DECIMAL(38,2) in DuckDB: every query casts its sums back to MONEY. Averages, shares and rates stay
# DOUBLE, computed from the exact sums (so they are deterministic too).
MONEY = "DECIMAL(18,2)"
BOOLEAN = "BOOLEAN"

CHURN_RISK_BANDS = ("Low", "Medium", "High")
PREDICTION_MODELS = ("MBG/NBD", "Naive baseline")

# Category orders used for sorting and charts.
FREQUENCY_TIERS = ("One-time", "Regular", "Power User")
VALUE_SEGMENTS = ("Low Value", "Medium Value", "High Value", "VIP")
LIFECYCLE_STAGES = ("Active", "Warm", "At Risk", "Dormant")
DELIVERY_BUCKETS = ("0-3", "4-7", "8-14", "15-21", "22-30", "31+")
