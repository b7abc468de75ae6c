"""A small hand-made landing zone whose silver values are worked out by hand in the tests."""

from pathlib import Path

from goodpulse_dagster_tests.rawdata import write_landing_zone, write_table

ORDERS = [
    # Last second of Q1 2017: it and its items, payments and reviews belong to 2017-01-01.
    {
        "order_id": "o1",
        "customer_id": "c1",
        "order_status": "delivered",
        "order_purchase_timestamp": "2017-03-31 23:59:59",
        "order_approved_at": "2017-04-01 00:10:00",
        "order_delivered_customer_date": "2017-04-05 11:59:59",
        "order_estimated_delivery_date": "2017-04-10 00:00:00",
    },
    # Status with stray case and spaces; no payment rows; delivered after the estimate.
    {
        "order_id": "o2",
        "customer_id": "c2",
        "order_status": " Delivered ",
        "order_purchase_timestamp": "2017-04-01 00:00:00",
        "order_delivered_customer_date": "2017-04-20 00:00:00",
        "order_estimated_delivery_date": "2017-04-15 00:00:00",
    },
    # Canceled before any item: revenue 0, no delivery.
    {
        "order_id": "o3",
        "customer_id": "c3",
        "order_status": "canceled",
        "order_purchase_timestamp": "2017-05-02 10:00:00",
        "order_estimated_delivery_date": "2017-05-20 00:00:00",
    },
]
ORDERS.append(dict(ORDERS[0]))  # an exact duplicate row

CUSTOMERS = [
    {
        "customer_id": "c1",
        "customer_unique_id": "u1",
        "customer_zip_code_prefix": "1012",
        "customer_city": " Sao Paulo ",
        "customer_state": "sp",
    },
    {
        "customer_id": "c2",
        "customer_unique_id": "u2",
        "customer_zip_code_prefix": "20231",
        "customer_city": "rio de janeiro",
        "customer_state": "RJ",
    },
    # The same person as c1, on another order.
    {
        "customer_id": "c3",
        "customer_unique_id": "u1",
        "customer_zip_code_prefix": "01012",
        "customer_city": "sao paulo",
        "customer_state": "SP",
    },
]
ITEMS = [
    {"order_id": "o1", "order_item_id": 1, "product_id": "p1", "seller_id": "s1",
     "shipping_limit_date": "2017-04-02 00:00:00", "price": "10.00", "freight_value": "2.00"},
    {"order_id": "o1", "order_item_id": 2, "product_id": "p2", "seller_id": "s1",
     "shipping_limit_date": "2017-04-02 00:00:00", "price": "5.00", "freight_value": "1.00"},
    {"order_id": "o2", "order_item_id": 1, "product_id": "p1", "seller_id": "s1",
     "shipping_limit_date": "2017-04-03 00:00:00", "price": "20.00", "freight_value": "3.00"},
]  # fmt: skip
PAYMENTS = [
    {"order_id": "o1", "payment_sequential": 1, "payment_type": "credit_card",
     "payment_installments": 2, "payment_value": "8.00"},
    {"order_id": "o1", "payment_sequential": 2, "payment_type": "voucher",
     "payment_installments": 1, "payment_value": "10.00"},
]  # fmt: skip
REVIEWS = [
    # Two reviews of o1: the later answer (r2, score 5) wins.
    {"review_id": "r1", "order_id": "o1", "review_score": 3,
     "review_creation_date": "2017-04-06 00:00:00", "review_answer_timestamp": "2017-04-07 10:00:00"},
    {"review_id": "r2", "order_id": "o1", "review_score": 5,
     "review_comment_message": 'line one\nline "two"',
     "review_creation_date": "2017-04-06 00:00:00", "review_answer_timestamp": "2017-04-08 10:00:00"},
    # Two reviews of o2 answered at the same moment: the higher score (4) wins.
    {"review_id": "r3", "order_id": "o2", "review_score": 2,
     "review_creation_date": "2017-04-21 00:00:00", "review_answer_timestamp": "2017-04-22 10:00:00"},
    {"review_id": "r4", "order_id": "o2", "review_score": 4,
     "review_creation_date": "2017-04-21 00:00:00", "review_answer_timestamp": "2017-04-22 10:00:00"},
]  # fmt: skip
PRODUCTS = [
    {"product_id": "p1", "product_category_name": "beleza_saude", "product_name_lenght": 40,
     "product_description_lenght": 287, "product_photos_qty": 1},
    {"product_id": "p2", "product_category_name": "sem_traducao", "product_name_lenght": 12},
]  # fmt: skip
SELLERS = [
    {"seller_id": "s1", "seller_zip_code_prefix": "123", "seller_city": "Campinas",
     "seller_state": "sp"},
]  # fmt: skip
GEOLOCATION = [
    {"geolocation_zip_code_prefix": "1012", "geolocation_lat": -23.5, "geolocation_lng": -46.6,
     "geolocation_city": "sao paulo", "geolocation_state": "SP"},
    {"geolocation_zip_code_prefix": "01012", "geolocation_lat": -23.6, "geolocation_lng": -46.7,
     "geolocation_city": "sao paulo", "geolocation_state": "SP"},
    {"geolocation_zip_code_prefix": "01012", "geolocation_lat": -23.7, "geolocation_lng": -46.8,
     "geolocation_city": "osasco", "geolocation_state": "SP"},
    # Outside Brazil: quarantined as out_of_range, not part of the median.
    {"geolocation_zip_code_prefix": "01012", "geolocation_lat": 38.0, "geolocation_lng": -6.0,
     "geolocation_city": "sao paulo", "geolocation_state": "SP"},
]  # fmt: skip
LEADS = [
    {"mql_id": "m1", "first_contact_date": "2017-01-10", "landing_page_id": "lp1",
     "origin": " Organic_Search "},
]  # fmt: skip
DEALS = [
    {"mql_id": "m1", "seller_id": "s1", "won_date": "2017-02-01 00:00:00", "lead_type": "online_medium"},
]  # fmt: skip


def write_small_landing_zone(root: Path) -> Path:
    write_landing_zone(
        root,
        {
            "orders": ORDERS,
            "customers": CUSTOMERS,
            "order_items": ITEMS,
            "order_payments": PAYMENTS,
            "order_reviews": REVIEWS,
            "products": PRODUCTS,
            "sellers": SELLERS,
            "geolocation": GEOLOCATION,
            "marketing_qualified_leads": LEADS,
            "closed_deals": DEALS,
        },
    )
    # The real translation file starts with a UTF-8 byte-order mark.
    path = root / "product_category_name_translation.csv"
    path.write_text(
        "\ufeffproduct_category_name,product_category_name_english\nbeleza_saude,health_beauty\n",
        encoding="utf-8",
    )
    return root


__all__ = ["write_small_landing_zone", "write_table"]
