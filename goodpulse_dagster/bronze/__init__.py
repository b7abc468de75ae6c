"""Bronze: each raw file typed as-is (staging.py reads the landing zone into per-file Parquet once;
parsing.py types, routes and quarantines rows), its assets and its checks.
"""
