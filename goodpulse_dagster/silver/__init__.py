"""Silver: the cleaned sources and the order lifecycle. The standardising SQL of each table is
models/silver/<table>.sql; rules.py holds the quarantine rules every cleaned source shares
(duplicates, keys, orphans, values); cleaning.py runs them; assets.py and checks.py are the Dagster
wrappers.
"""
