"""The simulated marketplace: people, cities and zip prefixes, sellers, products.

Everything here is drawn once, before the order chunks, and held as small integer arrays (int32 per
order, per-person/product/seller arrays): hex ids are derived from these integers only when a chunk
is written, so no array of 32-character strings outlives its chunk.
"""

from __future__ import annotations

import math

import numpy as np

from goodpulse_dagster.sample_data import reference_data as ref
from goodpulse_dagster.sample_data.dates import HOUR_WEIGHTS, purchase_days, purchase_quarters
from goodpulse_dagster.sample_data.randomness import Random, cdf

# --- Customers ----------------------------------------------------------------------------------
# Orders per person (customer_unique_id): ~97% buy once. Power users (5+) are added on top.
ORDERS_PER_PERSON: dict[int, float] = {1: 0.9690, 2: 0.0277, 3: 0.0026, 4: 0.0005, 5: 0.0001}
POWER_USER_SHARE = 0.0002
MIN_POWER_USERS = 3
POWER_USER_ORDERS = (6, 15)  # inclusive range of orders of a power user

# --- Products and sellers -----------------------------------------------------------------------
PRODUCTS_PER_ORDER = 0.33
SELLERS_PER_ORDER = 0.03
MIN_SELLERS = 20
# Popularity: index i is drawn as floor(n * u**exponent), so low indices sell most.
PRODUCT_POPULARITY_EXPONENT = 2.0
SELLER_POPULARITY_EXPONENT = 1.8
# Category weight of the k-th category of the translation file (which is roughly by popularity).
CATEGORY_ZIPF_EXPONENT = 1.0
UNCATEGORISED_PRODUCT_SHARE = 0.015  # real products without category (and without name lengths)
PRICE_MEDIAN = 80.0
CATEGORY_PRICE_SIGMA = 0.35
PRODUCT_PRICE_SIGMA = 0.75
PRICE_RANGE_CENTS = (300, 680_000)
# Price endings: R$ x.90, x.99, x.00, or any cents.
PRICE_ENDINGS = (90, 99, 0, -1)
PRICE_ENDING_SHARES = (0.6, 0.2, 0.1, 0.1)
WEIGHT_MEDIAN_G = 700.0

# --- Zip prefixes -------------------------------------------------------------------------------
ORDERS_PER_ZIP_PREFIX = 4.0  # how many zip prefixes of a city are in use grows with the orders
SELLERS_PER_ZIP_PREFIX = 2.0

# --- Payments known ahead -----------------------------------------------------------------------
# Orders without any payment row. Needed before the chunks (the junk picks below choose among
# orders that do have payments) as well as by the payments themselves, hence kept here.
NO_PAYMENT_SHARE = 0.005

# --- Messy mode's junk rows ---------------------------------------------------------------------
FEW_BAD_ROWS = 3  # per (kind, table) of junk rows: malformed, bad number, bad timestamp, orphan

# Vocabularies the place and product codes index into (a code is a position in these tuples).
STATES: tuple[str, ...] = tuple(dict.fromkeys(city.state for city in ref.CITIES))
CITY_NAMES: tuple[str, ...] = tuple(city.name for city in ref.CITIES)
CATEGORY_NAMES: tuple[str, ...] = tuple(pt for pt, _ in ref.CATEGORY_TRANSLATIONS)
CATEGORY_NAMES_EN: tuple[str, ...] = tuple(en for _, en in ref.CATEGORY_TRANSLATIONS)


class World:
    """The global, compact state: people, places, products, sellers, calendar, junk-row picks."""

    def __init__(self, n_orders: int, seed: int, messy: bool) -> None:
        self.n_orders = n_orders
        self.messy = messy
        self.rand = rand = Random(seed)
        # A sequential generator only for the two global picks: the order -> person shuffle and
        # the junk orders of messy mode. Everything else is counter-based (chunk-independent).
        rng = np.random.default_rng(np.random.SeedSequence([seed, n_orders]))

        # Places.
        self.city_state = np.array([STATES.index(c.state) for c in ref.CITIES], dtype=np.int16)
        customer_weights = np.array([c.customer_weight for c in ref.CITIES], dtype=float)
        seller_weights = np.array([c.seller_weight for c in ref.CITIES], dtype=float)
        self.customer_city_cdf = cdf(customer_weights)
        self.seller_city_cdf = cdf(seller_weights)
        self.n_sellers = max(MIN_SELLERS, round(SELLERS_PER_ORDER * n_orders))
        self._build_zip_pools(
            customer_weights / customer_weights.sum(), seller_weights / seller_weights.sum()
        )

        # Calendar.
        self.day_seconds, self.day_cdf = purchase_days()
        self.hour_cdf = cdf(HOUR_WEIGHTS)
        self.quarters = purchase_quarters()

        # People: the person behind each order, and where each person lives.
        self.person_of_order, self.person_order_count = _draw_persons(rng, n_orders)
        persons = np.arange(len(self.person_order_count), dtype=np.uint64)
        self.person_city = rand.choice("person_city", persons, self.customer_city_cdf).astype(
            np.int16
        )
        self.person_zip = self.draw_zip(self.person_city, "person_zip", persons)

        # Sellers and products.
        seller_keys = np.arange(self.n_sellers, dtype=np.uint64)
        self.seller_city = rand.choice("seller_city", seller_keys, self.seller_city_cdf)
        self.seller_zip = self.draw_zip(self.seller_city, "seller_zip", seller_keys)
        self._build_products()

        # Messy mode: the few orders whose rows get junk copies (chosen once, globally).
        self.junk_orders: dict[str, np.ndarray] = {}
        if messy:
            self._pick_junk_orders(rng)

    # --- places ---------------------------------------------------------------------------------
    def _build_zip_pools(self, customer_p: np.ndarray, seller_p: np.ndarray) -> None:
        """Choose the zip prefixes in use per city; the number grows with the orders generated."""
        pools, counts = [], []
        for c, city in enumerate(ref.CITIES):  # a loop over ~200 reference cities, not over rows
            prefixes = np.concatenate([np.arange(lo, hi + 1) for lo, hi in city.zip_ranges])
            wanted = (
                customer_p[c] * self.n_orders / ORDERS_PER_ZIP_PREFIX
                + seller_p[c] * self.n_sellers / SELLERS_PER_ZIP_PREFIX
            )
            k = int(min(len(prefixes), max(1, math.ceil(wanted))))
            ranked = np.argsort(self.rand.bits("zip_pick", prefixes), kind="stable")
            pools.append(np.sort(prefixes[ranked[:k]]))
            counts.append(k)
        self.zip_pool = np.concatenate(pools).astype(np.int32)
        self.zip_count = np.array(counts, dtype=np.int64)
        self.zip_start = np.concatenate([[0], np.cumsum(self.zip_count)[:-1]])
        self.zip_city = np.repeat(np.arange(len(ref.CITIES), dtype=np.int16), self.zip_count)

    def draw_zip(self, city: np.ndarray, stream: str, keys: np.ndarray) -> np.ndarray:
        """A zip prefix in use in each ``city``."""
        pick = (self.rand.uniform(stream, keys) * self.zip_count[city]).astype(np.int64)
        return self.zip_pool[self.zip_start[city] + pick]

    # --- products -------------------------------------------------------------------------------
    def _build_products(self) -> None:
        rand = self.rand
        n_categories = len(CATEGORY_NAMES)
        self.n_products = n = max(2 * n_categories, round(PRODUCTS_PER_ORDER * self.n_orders))
        keys = np.arange(n, dtype=np.uint64)
        category_cdf = cdf(1.0 / np.arange(1, n_categories + 1) ** CATEGORY_ZIPF_EXPONENT)
        category = rand.choice("product_category", keys, category_cdf)
        # The least popular products cover every category once, so that every category exists
        # even in a tiny run without bending the category mix of the popular products.
        category[n - n_categories :] = np.arange(n_categories)
        uncategorised = rand.uniform("product_uncategorised", keys) < UNCATEGORISED_PRODUCT_SHARE
        uncategorised[n - n_categories :] = False
        self.product_category = np.where(uncategorised, -1, category)

        # Category price levels, centred so that the popularity-weighted typical price stays at
        # PRICE_MEDIAN whatever the draw (a few big categories would otherwise move it).
        category_level = CATEGORY_PRICE_SIGMA * rand.normal(
            "category_price", np.arange(n_categories)
        )
        category_share = np.diff(category_cdf, prepend=0.0)
        category_median = PRICE_MEDIAN * np.exp(category_level - category_share @ category_level)
        median = np.where(uncategorised, PRICE_MEDIAN, category_median[category])
        reais = np.floor(median * np.exp(PRODUCT_PRICE_SIGMA * rand.normal("product_price", keys)))
        ending = np.asarray(PRICE_ENDINGS)[
            rand.choice("price_ending", keys, cdf(PRICE_ENDING_SHARES))
        ]
        cents = np.where(ending < 0, rand.integers("price_cents", keys, 0, 99), ending)
        self.product_price = np.clip(reais.astype(np.int64) * 100 + cents, *PRICE_RANGE_CENTS)
        self.product_weight = np.clip(
            np.round(rand.lognormal("product_weight", keys, WEIGHT_MEDIAN_G, 1.1)), 50, 40_000
        )
        self.product_seller = np.floor(
            self.n_sellers * rand.uniform("product_seller", keys) ** SELLER_POPULARITY_EXPONENT
        ).astype(np.int64)

    def draw_products(self, stream: str, keys: np.ndarray) -> np.ndarray:
        """Product indices by popularity (low indices sell most)."""
        u = self.rand.uniform(stream, keys)
        return np.floor(self.n_products * u**PRODUCT_POPULARITY_EXPONENT).astype(np.int64)

    # --- messy ----------------------------------------------------------------------------------
    def _pick_junk_orders(self, rng: np.random.Generator) -> None:
        """The orders whose rows get a junk copy: FEW_BAD_ROWS distinct orders per kind; the
        payment kinds among orders that have payment rows (recomputed from their random stream)."""
        row_kinds = ("malformed_rows", "bad_timestamps", "orphan_items")
        payment_kinds = ("bad_numbers", "orphan_payments")
        candidates = rng.choice(self.n_orders, size=min(self.n_orders, 200), replace=False)
        taken = candidates[: FEW_BAD_ROWS * len(row_kinds)]
        paying = candidates[~has_no_payment(self.rand, candidates.astype(np.uint64))]
        paying = paying[~np.isin(paying, taken)]
        picks = {kind: taken[i * FEW_BAD_ROWS :][:FEW_BAD_ROWS] for i, kind in enumerate(row_kinds)}
        for i, kind in enumerate(payment_kinds):
            picks[kind] = paying[i * FEW_BAD_ROWS :][:FEW_BAD_ROWS]
        self.junk_orders = {
            kind: np.sort(orders).astype(np.int64) for kind, orders in picks.items()
        }


def has_no_payment(rand: Random, order_keys: np.ndarray) -> np.ndarray:
    """Whether each order has no payment row at all."""
    return rand.uniform("no_payment", order_keys) < NO_PAYMENT_SHARE


def _draw_persons(rng: np.random.Generator, n_orders: int) -> tuple[np.ndarray, np.ndarray]:
    """The person (customer_unique_id index) of every order, and each person's order count.

    Counts are drawn up front and the order slots shuffled, so a person's orders fall anywhere in
    time and in any chunk. Returned as int32/uint16 arrays: no ids are held.
    """
    values = np.array(list(ORDERS_PER_PERSON))
    shares = np.array(list(ORDERS_PER_PERSON.values()))
    shares = shares / shares.sum()
    n_draw = int(n_orders / float(values @ shares) * 1.05) + 64
    counts = rng.choice(values, size=n_draw, p=shares).astype(np.int64)
    n_power = max(MIN_POWER_USERS, round(n_draw * POWER_USER_SHARE))
    counts[:n_power] = rng.integers(POWER_USER_ORDERS[0], POWER_USER_ORDERS[1] + 1, n_power)
    cumulative = np.cumsum(counts)
    if cumulative[-1] < n_orders:  # only for absurdly small draws; top up with one-time buyers
        counts = np.concatenate([counts, np.ones(n_orders - cumulative[-1], dtype=np.int64)])
        cumulative = np.cumsum(counts)
    n_persons = int(np.searchsorted(cumulative, n_orders)) + 1
    counts = counts[:n_persons]
    counts[-1] -= cumulative[n_persons - 1] - n_orders
    person_of_order = np.repeat(np.arange(n_persons, dtype=np.int32), counts)
    rng.shuffle(person_of_order)
    return person_of_order, counts.astype(np.uint16)
