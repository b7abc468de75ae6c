"""Quarantine: every row bronze or silver set aside, loaded from the lake into the warehouse schema
``quarantine`` (one table per source).
"""
