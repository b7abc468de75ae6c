"""The marketing funnel: marketing-qualified leads, and the deals that closed (one per funnel
seller)."""

from __future__ import annotations

from datetime import date

import numpy as np

from goodpulse_dagster.sample_data import reference_data as ref
from goodpulse_dagster.sample_data.dates import SECONDS_PER_DAY, day_number
from goodpulse_dagster.sample_data.frames import Frame, sort_keys
from goodpulse_dagster.sample_data.randomness import cdf
from goodpulse_dagster.sample_data.world import World

# Every FUNNEL_SELLER_STRIDE-th seller (by popularity rank) came through the funnel, so funnel
# sellers sell a stable ~18% of item lines at any size.
FUNNEL_SELLER_STRIDE = 5
FUNNEL_SELLER_OFFSET = 2
LEADS_PER_DEAL = 10  # ~10% of marketing-qualified leads close
FIRST_CONTACT_RANGE = (date(2016, 6, 1), date(2018, 6, 30))
WON_MEDIAN_DAYS = 30.0
WON_SIGMA = 1.0
WON_DAYS_RANGE = (1.0, 400.0)
LEADS_PER_LANDING_PAGE = 16
SDR_POOL = 32  # sales development representatives
SR_POOL = 22  # sales representatives
DECLARED_CATALOG_SHARE = 0.08
DECLARED_REVENUE_SHARE = 0.05


def _weighted_vocab(pairs: tuple[tuple[str, int], ...]) -> tuple[tuple[str, ...], np.ndarray]:
    """A (value, weight) code list as its values and their cumulative distribution."""
    return tuple(v for v, _ in pairs), cdf([w for _, w in pairs])


# The funnel's code columns hold indices into these vocabularies.
ORIGINS, _ORIGIN_CDF = _weighted_vocab(ref.LEAD_ORIGINS)
LEAD_TYPES, _LEAD_TYPE_CDF = _weighted_vocab(ref.LEAD_TYPES)
SEGMENTS, _SEGMENT_CDF = _weighted_vocab(ref.BUSINESS_SEGMENTS)
PROFILES, _PROFILE_CDF = _weighted_vocab(ref.LEAD_BEHAVIOUR_PROFILES)
HAS_COMPANY, _HAS_COMPANY_CDF = _weighted_vocab(ref.HAS_COMPANY)
HAS_GTIN, _HAS_GTIN_CDF = _weighted_vocab(ref.HAS_GTIN)
STOCK, _STOCK_CDF = _weighted_vocab(ref.AVERAGE_STOCK)
BUSINESS_TYPES, _BUSINESS_TYPE_CDF = _weighted_vocab(ref.BUSINESS_TYPES)


def deal_count(world: World) -> int:
    """Closed deals: one per funnel seller (every FUNNEL_SELLER_STRIDE-th seller)."""
    return len(range(FUNNEL_SELLER_OFFSET, world.n_sellers, FUNNEL_SELLER_STRIDE))


def lead_count(world: World) -> int:
    """Marketing-qualified leads: LEADS_PER_DEAL per closed deal."""
    return deal_count(world) * LEADS_PER_DEAL


def _first_contact_day(world: World, leads: np.ndarray) -> np.ndarray:
    first_day, last_day = (day_number(d) for d in FIRST_CONTACT_RANGE)
    return world.rand.integers("first_contact", leads, first_day, last_day)


def lead_frame(world: World, leads: np.ndarray) -> Frame:
    """The given marketing-qualified leads (indices, ascending)."""
    rand = world.rand
    leads = np.asarray(leads).astype(np.uint64)
    n_pages = max(5, lead_count(world) // LEADS_PER_LANDING_PAGE)
    page = np.floor(n_pages * rand.uniform("landing_page", leads) ** 2).astype(np.uint64)
    return Frame(
        "marketing_qualified_leads",
        {
            "mql_id": leads,
            "first_contact_date": _first_contact_day(world, leads),
            "landing_page_id": page,
            "origin": rand.choice("origin", leads, _ORIGIN_CDF),
        },
        sort_keys(leads),
    )


def deal_frame(world: World, deals: np.ndarray) -> Frame:
    """The given closed deals (indices, ascending): deal d closed lead d * LEADS_PER_DEAL (ids are
    hashed, so no pattern shows) of funnel seller FUNNEL_SELLER_OFFSET + d * FUNNEL_SELLER_STRIDE."""
    rand = world.rand
    deals = np.asarray(deals).astype(np.uint64)
    closed = deals * np.uint64(LEADS_PER_DEAL)
    sellers = np.uint64(FUNNEL_SELLER_OFFSET) + deals * np.uint64(FUNNEL_SELLER_STRIDE)
    won_days = np.clip(
        rand.lognormal("won_days", deals, WON_MEDIAN_DAYS, WON_SIGMA), *WON_DAYS_RANGE
    )
    won = _first_contact_day(world, closed) * SECONDS_PER_DAY + (won_days * SECONDS_PER_DAY).astype(
        np.int64
    )
    catalog = np.asarray(ref.DECLARED_CATALOG_SIZES, dtype=float)[
        rand.integers("catalog", deals, 0, len(ref.DECLARED_CATALOG_SIZES) - 1)
    ]
    revenue = np.asarray(ref.DECLARED_MONTHLY_REVENUES, dtype=float)[
        rand.integers("revenue", deals, 0, len(ref.DECLARED_MONTHLY_REVENUES) - 1)
    ]
    return Frame(
        "closed_deals",
        {
            "mql_id": closed,
            "seller_id": sellers,
            "sdr_id": rand.integers("sdr", deals, 0, SDR_POOL - 1),
            "sr_id": rand.integers("sr", deals, 0, SR_POOL - 1),
            "won_date": won,
            "business_segment": rand.choice("segment", deals, _SEGMENT_CDF),
            "lead_type": rand.choice("lead_type", deals, _LEAD_TYPE_CDF),
            "lead_behaviour_profile": rand.choice("profile", deals, _PROFILE_CDF),
            "has_company": rand.choice("has_company", deals, _HAS_COMPANY_CDF),
            "has_gtin": rand.choice("has_gtin", deals, _HAS_GTIN_CDF),
            "average_stock": rand.choice("average_stock", deals, _STOCK_CDF),
            "business_type": rand.choice("business_type", deals, _BUSINESS_TYPE_CDF),
            "declared_product_catalog_size": np.where(
                rand.uniform("has_catalog", deals) < DECLARED_CATALOG_SHARE, catalog, np.nan
            ),
            "declared_monthly_revenue": np.where(
                rand.uniform("has_revenue", deals) < DECLARED_REVENUE_SHARE, revenue, 0.0
            ),
        },
        sort_keys(deals),
    )
