"""Gold: the customer tables, segments and cohorts in the warehouse. The SQL is
models/gold/<table>.sql; transforms.py binds the settings and runs it; as_of.py derives the
reference date; assets.py and checks.py are the Dagster wrappers.
"""
