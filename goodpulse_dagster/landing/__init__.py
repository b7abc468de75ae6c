"""The raw landing zone, local or on S3: listing, versions (content hashes, ETags) and fetching of the
exports (zone.py).
"""
