"""KPI: the tables behind the executive report. The SQL is models/kpi/<table>.sql; transforms.py runs
it and picks each table's headline numbers; assets.py and checks.py are the Dagster wrappers.
"""
