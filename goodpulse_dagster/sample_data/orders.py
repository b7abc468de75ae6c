"""Order chunks: the orders, their customers, items, payments and reviews, for a range of orders."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from goodpulse_dagster import schema
from goodpulse_dagster.sample_data.dates import (
    NULL_TIMESTAMP,
    SECONDS_PER_DAY,
    SNAPSHOT_END,
    day_number,
    midnight,
    quarter_number,
)
from goodpulse_dagster.sample_data.frames import Frame, sort_keys
from goodpulse_dagster.sample_data.randomness import cdf
from goodpulse_dagster.sample_data.reviews import delivery_class, review_frame
from goodpulse_dagster.sample_data.world import WEIGHT_MEDIAN_G, World, has_no_payment

# --- Customers ----------------------------------------------------------------------------------
# Share of a repeat buyer's orders placed from another city than their home (they moved).
MOVE_SHARE = 0.08

# --- Orders -------------------------------------------------------------------------------------
ORDER_STATUS_SHARES: dict[str, float] = {
    "delivered": 0.9702,
    "shipped": 0.0111,
    "canceled": 0.0063,
    "unavailable": 0.0061,
    "invoiced": 0.0032,
    "processing": 0.0030,
    "created": 0.00005,
    "approved": 0.00002,
}
APPROVAL_MEDIAN_HOURS = 2.0
BOLETO_APPROVAL_MEDIAN_HOURS = 26.0  # a boleto is paid at a bank, often the next day
APPROVAL_SIGMA = 1.0
CANCELED_APPROVED_SHARE = 0.75
DELIVERY_MEDIAN_DAYS = 9.5
DELIVERY_SIGMA = 0.55
DELAYED_SHARE = 0.04  # carrier trouble: an extra delay on top of the usual spread
DELAY_EXTRA_DAYS = (5.0, 30.0)
DELIVERY_DAYS_RANGE = (2.0, 120.0)
ESTIMATE_DAYS = (20, 30)  # inclusive: estimated date = purchase date + this many days, 00:00:00
CARRIER_FRACTION = (0.15, 0.5)  # carrier pick-up at this fraction of approval -> delivery
SHIPPED_CARRIER_DAYS = (1, 6)
SHIPPING_LIMIT_DAYS = (3, 8)

# --- Items --------------------------------------------------------------------------------------
ITEMS_PER_ORDER: dict[int, float] = {1: 0.90, 2: 0.075, 3: 0.015, 4: 0.005, 5: 0.003, 6: 0.002}
SAME_PRODUCT_SHARE = 0.6  # extra lines repeat line 1's product (Olist has no quantity column)
FREIGHT_MEDIAN = 15.0
FREIGHT_SIGMA = 0.45
FREIGHT_RANGE_CENTS = (500, 5000)

# --- Payments -----------------------------------------------------------------------------------
# Payment plan of an order; "split" is several voucher rows (the last one sometimes a card).
PAYMENT_PLANS = ("credit_card", "boleto", "debit_card", "voucher", "split")
PAYMENT_PLAN_SHARES = (0.75, 0.19, 0.015, 0.01, 0.035)
PAYMENT_TYPES = ("credit_card", "boleto", "voucher", "debit_card")
SPLIT_PARTS: dict[int, float] = {2: 0.55, 3: 0.2, 4: 0.1, 5: 0.08, 6: 0.07}
SPLIT_LAST_CARD_SHARE = 0.5
INSTALLMENT_SHARES = (0.33, 0.16, 0.14, 0.095, 0.07, 0.05, 0.02, 0.06, 0.008, 0.067)  # 1..10

assert set(ORDER_STATUS_SHARES) == set(schema.ORDER_STATUSES)

_STATUS_CODE = {status: i for i, status in enumerate(schema.ORDER_STATUSES)}
_STATUS_CDF = cdf([ORDER_STATUS_SHARES[s] for s in schema.ORDER_STATUSES])
_PLAN_CDF = cdf(PAYMENT_PLAN_SHARES)
_PLAN_CODE = {plan: i for i, plan in enumerate(PAYMENT_PLANS)}
_PAYMENT_TYPE_CODE = {t: i for i, t in enumerate(PAYMENT_TYPES)}
# Payment type of a single-payment plan (the split plan is handled apart).
_PLAN_PAYMENT_TYPE = np.array(
    [_PAYMENT_TYPE_CODE.get(plan, _PAYMENT_TYPE_CODE["voucher"]) for plan in PAYMENT_PLANS]
)
_ITEMS_CDF = cdf(list(ITEMS_PER_ORDER.values()))
_ITEM_COUNTS = np.array(list(ITEMS_PER_ORDER))
_SPLIT_CDF = cdf(list(SPLIT_PARTS.values()))
_SPLIT_COUNTS = np.array(list(SPLIT_PARTS))
_INSTALLMENT_CDF = cdf(INSTALLMENT_SHARES)


@dataclass
class OrderChunk:
    """The order-grain frames of orders ``index`` (a contiguous range), and each order's delivery
    class (see :func:`~goodpulse_dagster.sample_data.reviews.delivery_class`), which messy mode
    needs to score extra reviews."""

    index: np.ndarray
    orders: Frame
    customers: Frame
    items: Frame
    payments: Frame
    reviews: Frame
    delivery_class: np.ndarray

    def frames(self) -> tuple[Frame, ...]:
        """The frames in the order they are written."""
        return self.orders, self.customers, self.items, self.payments, self.reviews


def order_chunk(world: World, start: int, stop: int) -> OrderChunk:
    """The five order-grain (and per-order customer) tables of orders [start, stop)."""
    rand = world.rand
    n = stop - start
    index = np.arange(start, stop, dtype=np.int64)
    okey = index.astype(np.uint64)

    # --- where the customer lives at this order --------------------------------------------------
    person = world.person_of_order[start:stop]
    home_city, home_zip = world.person_home(person)
    moved = (world.person_order_count[person] > 1) & (rand.uniform("moved", okey) < MOVE_SHARE)
    city = np.where(moved, rand.choice("moved_city", okey, world.customer_city_cdf), home_city)
    zip_prefix = np.where(moved, world.draw_zip(city, "moved_zip", okey), home_zip)

    # --- timeline -------------------------------------------------------------------------------
    day = np.searchsorted(world.day_cdf, rand.uniform("purchase_day", okey), side="right")
    purchase = (
        world.day_seconds[day]
        + rand.choice("purchase_hour", okey, world.hour_cdf) * 3600
        + rand.integers("purchase_second", okey, 0, 3599)
    )
    quarter = quarter_number(purchase)
    status = rand.choice("status", okey, _STATUS_CDF)
    plan = rand.choice("payment_plan", okey, _PLAN_CDF)

    delivery_days = rand.lognormal("delivery_days", okey, DELIVERY_MEDIAN_DAYS, DELIVERY_SIGMA)
    delayed = rand.uniform("delayed", okey) < DELAYED_SHARE
    low, high = DELAY_EXTRA_DAYS
    delay = low + rand.uniform("delay", okey) * (high - low)
    delivery_days = np.clip(delivery_days + np.where(delayed, delay, 0.0), *DELIVERY_DAYS_RANGE)
    delivered_at = purchase + (delivery_days * SECONDS_PER_DAY).astype(np.int64)
    snapshot = day_number(SNAPSHOT_END) * SECONDS_PER_DAY
    status = np.where(
        (status == _STATUS_CODE["delivered"]) & (delivered_at >= snapshot),
        _STATUS_CODE["shipped"],
        status,
    )
    delivered = status == _STATUS_CODE["delivered"]

    approval_hours = np.where(
        plan == _PLAN_CODE["boleto"],
        rand.lognormal("approval_boleto", okey, BOLETO_APPROVAL_MEDIAN_HOURS, APPROVAL_SIGMA / 2),
        rand.lognormal("approval", okey, APPROVAL_MEDIAN_HOURS, APPROVAL_SIGMA),
    )
    approval_seconds = np.clip(
        (approval_hours * 3600).astype(np.int64), 60, (delivered_at - purchase) // 2
    )
    approved = purchase + approval_seconds
    not_approved = (status == _STATUS_CODE["created"]) | (
        (status == _STATUS_CODE["canceled"])
        & (rand.uniform("canceled_approved", okey) >= CANCELED_APPROVED_SHARE)
    )
    carrier = np.full(n, NULL_TIMESTAMP)
    fraction = CARRIER_FRACTION[0] + rand.uniform("carrier", okey) * (
        CARRIER_FRACTION[1] - CARRIER_FRACTION[0]
    )
    carrier[delivered] = (approved + (fraction * (delivered_at - approved)).astype(np.int64))[
        delivered
    ]
    shipped = status == _STATUS_CODE["shipped"]
    carrier[shipped] = (
        approved
        + rand.integers("shipped_carrier", okey, *SHIPPED_CARRIER_DAYS) * SECONDS_PER_DAY
        + rand.integers("shipped_carrier_second", okey, 0, SECONDS_PER_DAY - 1)
    )[shipped]
    estimated = (
        midnight(purchase) + rand.integers("estimate", okey, *ESTIMATE_DAYS) * SECONDS_PER_DAY
    )

    orders = Frame(
        "orders",
        {
            "order_id": okey,
            "customer_id": okey,
            "order_status": status,
            "order_purchase_timestamp": purchase,
            "order_approved_at": np.where(not_approved, NULL_TIMESTAMP, approved),
            "order_delivered_carrier_date": carrier,
            "order_delivered_customer_date": np.where(delivered, delivered_at, NULL_TIMESTAMP),
            "order_estimated_delivery_date": estimated,
        },
        sort_keys(index),
        quarter,
    )
    customers = Frame(
        "customers",
        {
            "customer_id": okey,
            "customer_unique_id": person.astype(np.uint64),
            "customer_zip_code_prefix": zip_prefix,
            "customer_city": city,
            "customer_state": world.city_state[city],
        },
        sort_keys(index),
    )

    # --- items ----------------------------------------------------------------------------------
    n_items = _ITEM_COUNTS[rand.choice("item_count", okey, _ITEMS_CDF)]
    item_order = np.repeat(np.arange(n), n_items)
    item_first = np.cumsum(n_items) - n_items
    line = np.arange(len(item_order)) - item_first[item_order]
    ikey = sort_keys(index[item_order], line)
    first_product = world.draw_products("product", okey)
    same = (line == 0) | (rand.uniform("same_product", ikey) < SAME_PRODUCT_SHARE)
    product = np.where(same, first_product[item_order], world.draw_products("other_product", ikey))
    bought = world.products(product)
    price = bought.price
    freight_median = FREIGHT_MEDIAN * (bought.weight / WEIGHT_MEDIAN_G) ** 0.2
    freight = np.clip(
        np.round(100 * freight_median * np.exp(FREIGHT_SIGMA * rand.normal("freight", ikey))),
        *FREIGHT_RANGE_CENTS,
    ).astype(np.int64)
    paid_from = np.where(not_approved, purchase, approved)[item_order]
    items = Frame(
        "order_items",
        {
            "order_id": okey[item_order],
            "order_item_id": line + 1,
            "product_id": product.astype(np.uint64),
            "seller_id": bought.seller.astype(np.uint64),
            "shipping_limit_date": paid_from
            + rand.integers("shipping_limit", ikey, *SHIPPING_LIMIT_DAYS) * SECONDS_PER_DAY
            + rand.integers("shipping_limit_second", ikey, 0, SECONDS_PER_DAY - 1),
            "price": price,
            "freight_value": freight,
        },
        ikey,
        quarter[item_order],
    )
    order_total = np.add.reduceat(price + freight, item_first)

    # --- payments -------------------------------------------------------------------------------
    split = plan == _PLAN_CODE["split"]
    n_payments = np.where(
        has_no_payment(rand, okey),
        0,
        np.where(split, _SPLIT_COUNTS[rand.choice("split_parts", okey, _SPLIT_CDF)], 1),
    )
    pay_order = np.repeat(np.arange(n), n_payments)
    pay_first = np.cumsum(n_payments) - n_payments
    sequence = np.arange(len(pay_order)) - pay_first[pay_order] + 1
    pkey = sort_keys(index[pay_order], sequence)
    is_last = sequence == n_payments[pay_order]
    pay_split = split[pay_order]
    card_last = rand.uniform("split_card", okey) < SPLIT_LAST_CARD_SHARE
    payment_type = np.where(
        pay_split,
        np.where(
            is_last & card_last[pay_order],
            _PAYMENT_TYPE_CODE["credit_card"],
            _PAYMENT_TYPE_CODE["voucher"],
        ),
        _PLAN_PAYMENT_TYPE[plan[pay_order]],
    )
    installments = np.where(
        payment_type == _PAYMENT_TYPE_CODE["credit_card"],
        1 + rand.choice("installments", pkey, _INSTALLMENT_CDF),
        1,
    )
    # Split payments: random shares floored to the cent; the last row takes the remainder, so the
    # rows sum to the order total exactly.
    weight = 0.2 + rand.uniform("split_weight", pkey)
    weight_sum = np.bincount(pay_order, weights=weight, minlength=n)
    part = np.floor(order_total[pay_order] * weight / weight_sum[pay_order]).astype(np.int64)
    part_sum = np.bincount(pay_order, weights=np.where(is_last, 0, part), minlength=n)
    value = np.where(is_last, order_total[pay_order] - part_sum[pay_order].astype(np.int64), part)
    payments = Frame(
        "order_payments",
        {
            "order_id": okey[pay_order],
            "payment_sequential": sequence,
            "payment_type": payment_type,
            "payment_installments": installments,
            "payment_value": value,
        },
        pkey,
        quarter[pay_order],
    )

    # --- reviews --------------------------------------------------------------------------------
    klass = delivery_class(delivered, delivered_at, estimated)
    reviews = review_frame(rand, index, quarter, purchase, delivered, delivered_at, klass)
    return OrderChunk(index, orders, customers, items, payments, reviews, klass)
