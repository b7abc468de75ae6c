"""Data quality shared by every layer's checks: rules.py holds the pure rules (SQL over the tables a
check reads), checks.py the Dagster check builders and the lake reader.
"""
