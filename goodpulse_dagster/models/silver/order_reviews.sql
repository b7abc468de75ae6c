-- silver.order_reviews, standardising step: ids and comments trimmed (empty text is NULL).
-- Grain: bronze keeps every review; silver keeps one per order, the latest answered (ties: the
-- higher score, then the higher review_id), chosen by the silver rules
-- (silver/rules.py), which also quarantine a score outside 1..5.
-- Input: bronze (bronze.order_reviews). Parameters: none.
SELECT
    clean_text(review_id) AS review_id,
    clean_text(order_id) AS order_id,
    review_score,
    clean_text(review_comment_title) AS review_comment_title,
    clean_text(review_comment_message) AS review_comment_message,
    review_creation_date,
    review_answer_timestamp,
    _partition,
    _source_file,
    _ingested_at
FROM bronze
