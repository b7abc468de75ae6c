-- The (frequency, recency, age) triples the fitted purchase model scores in numpy (the table
-- `scores` the next step joins): every triple of the summary and (0, 0, 0), a customer with no
-- completed order up to the cut.
-- Grain: one row per distinct triple, sorted.
-- Inputs: summary (step customer_predictions__summary).
-- Parameters: none.
SELECT frequency, recency, age FROM summary
UNION
SELECT 0, 0, 0
ORDER BY ALL
