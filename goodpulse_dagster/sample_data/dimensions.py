"""Dimension tables of the world: products, sellers, geolocation and the category translation.

They are written before the order chunks (the marketing funnel is in
:mod:`goodpulse_dagster.sample_data.funnel`). Products and sellers, whose number grows with the
orders, are framed a range of indices at a time; geolocation (bounded by the reference zip ranges)
and the translation are framed whole.
"""

from __future__ import annotations

import numpy as np

from goodpulse_dagster.sample_data import reference_data as ref
from goodpulse_dagster.sample_data.frames import Frame, sort_keys
from goodpulse_dagster.sample_data.world import CATEGORY_NAMES, World

GEO_POINTS_PER_PREFIX = (5, 30)
PREFIX_SPREAD_DEGREES = (0.01, 0.0015)  # prefix centre offset: base + per sqrt(prefixes of city)
POINT_JITTER_DEGREES = 0.004
FAR_AWAY_ROWS_PER_ROW = 1 / 20_000
MIN_FAR_AWAY_ROWS = 3


def product_frame(world: World, products: np.ndarray) -> Frame:
    """The given products (indices, ascending), with their category and measures."""
    rand = world.rand
    keys = np.asarray(products).astype(np.uint64)
    attributes = world.products(keys)
    category = attributes.category
    has_category = category >= 0

    def described(values: np.ndarray) -> np.ndarray:
        # Products without a category also lack these descriptive numbers (as in the real file).
        return np.where(has_category, values, np.nan)

    return Frame(
        "products",
        {
            "product_id": keys,
            "product_category_name": category,
            "product_name_lenght": described(
                np.clip(np.round(48 + 10 * rand.normal("name_length", keys)), 5, 76)
            ),
            "product_description_lenght": described(
                np.clip(np.round(rand.lognormal("description_length", keys, 600, 0.8)), 4, 3992)
            ),
            "product_photos_qty": described(
                np.minimum(1 + np.floor(-np.log1p(-rand.uniform("photos", keys)) * 1.3), 20)
            ),
            "product_weight_g": attributes.weight,
            "product_length_cm": np.clip(
                np.round(rand.lognormal("length", keys, 27, 0.45)), 7, 105
            ),
            "product_height_cm": np.clip(np.round(rand.lognormal("height", keys, 13, 0.8)), 2, 105),
            "product_width_cm": np.clip(np.round(rand.lognormal("width", keys, 21, 0.45)), 6, 118),
        },
        sort_keys(keys),
    )


def seller_frame(world: World, sellers: np.ndarray) -> Frame:
    """The given sellers (indices, ascending), with the city and zip prefix drawn for each."""
    seller_keys = np.asarray(sellers).astype(np.uint64)
    city, zip_prefix = world.seller_home(seller_keys)
    return Frame(
        "sellers",
        {
            "seller_id": seller_keys,
            "seller_zip_code_prefix": zip_prefix,
            "seller_city": city,
            "seller_state": world.city_state[city],
        },
        sort_keys(seller_keys),
    )


def geolocation_frame(world: World) -> Frame:
    """Many points per zip prefix in use, jittered around the city (sorted by prefix like the real
    file), plus a few points placed far outside Brazil."""
    rand = world.rand
    prefixes = world.zip_pool.astype(np.uint64)
    city = world.zip_city
    lat0 = np.array([c.lat for c in ref.CITIES])[city]
    lng0 = np.array([c.lng for c in ref.CITIES])[city]
    spread = (
        PREFIX_SPREAD_DEGREES[0]
        + PREFIX_SPREAD_DEGREES[1]
        * np.sqrt(np.array([sum(hi - lo + 1 for lo, hi in c.zip_ranges) for c in ref.CITIES]))[city]
    )
    lat0 = lat0 + spread * rand.normal("prefix_lat", prefixes)
    lng0 = lng0 + spread * rand.normal("prefix_lng", prefixes)

    points = rand.integers("geo_points", prefixes, *GEO_POINTS_PER_PREFIX)
    of_prefix = np.repeat(np.arange(len(prefixes)), points)
    point = np.arange(len(of_prefix)) - np.repeat(np.cumsum(points) - points, points)
    pkey = sort_keys(prefixes[of_prefix], point)
    lat = lat0[of_prefix] + POINT_JITTER_DEGREES * rand.normal("point_lat", pkey)
    lng = lng0[of_prefix] + POINT_JITTER_DEGREES * rand.normal("point_lng", pkey)

    n_far = min(len(pkey), max(MIN_FAR_AWAY_ROWS, round(len(pkey) * FAR_AWAY_ROWS_PER_ROW)))
    far_rows = np.argsort(rand.bits("far_away", pkey), kind="stable")[:n_far]
    far = np.array(ref.FAR_AWAY_POINTS)[np.arange(n_far) % len(ref.FAR_AWAY_POINTS)]
    lat[far_rows], lng[far_rows] = far[:, 0], far[:, 1]

    order = np.argsort(pkey, kind="stable")
    cities = city[of_prefix][order]
    return Frame(
        "geolocation",
        {
            "geolocation_zip_code_prefix": world.zip_pool[of_prefix][order],
            "geolocation_lat": lat[order],
            "geolocation_lng": lng[order],
            "geolocation_city": cities,
            "geolocation_state": world.city_state[cities],
        },
        pkey[order],
    )


def category_translation_frame() -> Frame:
    """Every category with its English name (the same in every run)."""
    codes = np.arange(len(CATEGORY_NAMES))
    return Frame(
        "category_translation",
        {"product_category_name": codes, "product_category_name_english": codes},
        sort_keys(codes),
    )
