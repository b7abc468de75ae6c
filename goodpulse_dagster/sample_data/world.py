"""The simulated marketplace: people, cities and zip prefixes, sellers, products.

Only what must be drawn globally is held for the whole run: the person behind each order (int32)
and each person's order count (uint8), plus small arrays that do not grow with the orders (zip
pools, calendar). A person's or seller's home and a product's attributes are pure functions of the
index (counter-based randomness), recomputed for the rows a chunk needs, so memory stays flat at
any size. Hex ids are derived from these integers only when a chunk is written, so no array of
32-character strings outlives its chunk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
# Persons handled at a time while drawing them: bounds the temporaries of the draw.
PERSON_BLOCK = 1 << 20

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


@dataclass
class Products:
    """Attributes of some products (parallel arrays, one value per product index asked for)."""

    category: np.ndarray  # index into CATEGORY_NAMES, -1: uncategorised
    price: np.ndarray  # cents
    weight: np.ndarray  # grams (float, as written)
    seller: np.ndarray  # seller index


class World:
    """The global, compact state (people, places, calendar, junk-row picks), and the per-index
    attributes of people, sellers and products."""

    def __init__(self, n_orders: int, seed: int, messy: bool) -> None:
        self.n_orders = n_orders
        self.messy = messy
        self.rand = Random(seed)
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

        # People: the person behind each order and each person's order count. These two arrays are
        # the only state that grows with the run (4 bytes per order, 1 per person); where a person,
        # seller or product lives and what a product costs are recomputed from its index when a
        # chunk needs them (see person_home, seller_home, products).
        self.person_of_order, self.person_order_count = _draw_persons(rng, n_orders)

        # Products: only the per-category price levels are held.
        self._init_products()

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

    # --- people and sellers ------------------------------------------------------------------
    def person_home(self, persons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The home city (int16) and zip prefix of each person index."""
        keys = np.asarray(persons).astype(np.uint64)
        city = self.rand.choice("person_city", keys, self.customer_city_cdf).astype(np.int16)
        return city, self.draw_zip(city, "person_zip", keys)

    def seller_home(self, sellers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The city and zip prefix of each seller index."""
        keys = np.asarray(sellers).astype(np.uint64)
        city = self.rand.choice("seller_city", keys, self.seller_city_cdf)
        return city, self.draw_zip(city, "seller_zip", keys)

    # --- products -------------------------------------------------------------------------------
    def _init_products(self) -> None:
        """The number of products and the per-category price levels (everything else about a
        product is a function of its index: see :meth:`products`)."""
        rand = self.rand
        n_categories = len(CATEGORY_NAMES)
        self.n_products = max(2 * n_categories, round(PRODUCTS_PER_ORDER * self.n_orders))
        self._category_cdf = cdf(1.0 / np.arange(1, n_categories + 1) ** CATEGORY_ZIPF_EXPONENT)
        # Category price levels, centred so that the popularity-weighted typical price stays at
        # PRICE_MEDIAN whatever the draw (a few big categories would otherwise move it).
        category_level = CATEGORY_PRICE_SIGMA * rand.normal(
            "category_price", np.arange(n_categories)
        )
        category_share = np.diff(self._category_cdf, prepend=0.0)
        self._category_median = PRICE_MEDIAN * np.exp(
            category_level - category_share @ category_level
        )

    def products(self, products: np.ndarray) -> Products:
        """Category, price, weight and seller of each product index (any subset, any order)."""
        rand = self.rand
        keys = np.asarray(products).astype(np.uint64)
        n_categories = len(CATEGORY_NAMES)
        category = rand.choice("product_category", keys, self._category_cdf)
        # The least popular products cover every category once, so that every category exists
        # even in a tiny run without bending the category mix of the popular products.
        first_covering = self.n_products - n_categories
        covering = keys >= np.uint64(first_covering)
        category[covering] = keys[covering].astype(np.int64) - first_covering
        uncategorised = (
            rand.uniform("product_uncategorised", keys) < UNCATEGORISED_PRODUCT_SHARE
        ) & ~covering

        median = np.where(uncategorised, PRICE_MEDIAN, self._category_median[category])
        reais = np.floor(median * np.exp(PRODUCT_PRICE_SIGMA * rand.normal("product_price", keys)))
        ending = np.asarray(PRICE_ENDINGS)[
            rand.choice("price_ending", keys, cdf(PRICE_ENDING_SHARES))
        ]
        cents = np.where(ending < 0, rand.integers("price_cents", keys, 0, 99), ending)
        return Products(
            category=np.where(uncategorised, -1, category),
            price=np.clip(reais.astype(np.int64) * 100 + cents, *PRICE_RANGE_CENTS),
            weight=np.clip(
                np.round(rand.lognormal("product_weight", keys, WEIGHT_MEDIAN_G, 1.1)), 50, 40_000
            ),
            seller=np.floor(
                self.n_sellers * rand.uniform("product_seller", keys) ** SELLER_POPULARITY_EXPONENT
            ).astype(np.int64),
        )

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
    time and in any chunk. Returned as int32/uint8 arrays: no ids are held. Every step works in
    blocks of PERSON_BLOCK, so no temporary wider than these two arrays spans the whole run (the
    block-wise draws consume the generator exactly as one call would, so the output is unchanged).
    """
    values = np.array(list(ORDERS_PER_PERSON))
    shares = np.array(list(ORDERS_PER_PERSON.values()))
    shares = shares / shares.sum()
    n_draw = int(n_orders / float(values @ shares) * 1.05) + 64
    counts = np.empty(n_draw, dtype=np.uint8)  # at most POWER_USER_ORDERS[1] orders per person
    for block in _blocks(n_draw):
        counts[block] = rng.choice(values, size=block.stop - block.start, p=shares)
    n_power = max(MIN_POWER_USERS, round(n_draw * POWER_USER_SHARE))
    counts[:n_power] = rng.integers(POWER_USER_ORDERS[0], POWER_USER_ORDERS[1] + 1, n_power)
    drawn = int(counts.sum(dtype=np.int64))
    if drawn < n_orders:  # only for absurdly small draws; top up with one-time buyers
        counts = np.concatenate([counts, np.ones(n_orders - drawn, dtype=np.uint8)])
    n_persons = _persons_reaching(counts, n_orders)
    counts = counts[:n_persons]
    # The last person keeps only the orders still missing.
    counts[-1] = n_orders - int(counts[:-1].sum(dtype=np.int64))

    person_of_order = np.empty(n_orders, dtype=np.int32)
    filled = 0
    for block in _blocks(n_persons):
        persons = np.repeat(np.arange(block.start, block.stop, dtype=np.int32), counts[block])
        person_of_order[filled : filled + len(persons)] = persons
        filled += len(persons)
    rng.shuffle(person_of_order)
    return person_of_order, counts


def _persons_reaching(counts: np.ndarray, n_orders: int) -> int:
    """How many persons, in draw order, it takes for their order counts to add up to n_orders."""
    reached = 0
    for block in _blocks(len(counts)):
        cumulative = reached + np.cumsum(counts[block], dtype=np.int64)
        if cumulative[-1] >= n_orders:
            return block.start + int(np.searchsorted(cumulative, n_orders)) + 1
        reached = int(cumulative[-1])
    raise ValueError(f"the counts add up to {reached} orders, fewer than {n_orders}")


def _blocks(n: int) -> list[slice]:
    """[0, n) as consecutive slices of at most PERSON_BLOCK."""
    return [slice(start, min(n, start + PERSON_BLOCK)) for start in range(0, n, PERSON_BLOCK)]
