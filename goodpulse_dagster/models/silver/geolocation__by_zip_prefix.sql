-- silver.geolocation, last step: one row per zip prefix, with the median latitude and longitude
-- of its points, its modal city and state (ties broken alphabetically, so the result is stable)
-- and geolocation_points, how many points it had.
-- Grain: one row per geolocation_zip_code_prefix.
-- Input: points (the standardised, deduplicated points inside Brazil that have a prefix, from
-- geolocation.sql and silver/rules.py). Parameters: none.
WITH city_counts AS (
    SELECT geolocation_zip_code_prefix, geolocation_city, count(*) AS n
    FROM points
    WHERE geolocation_city IS NOT NULL
    GROUP BY 1, 2
),

modal_city AS (
    SELECT geolocation_zip_code_prefix, geolocation_city
    FROM city_counts
    QUALIFY row_number() OVER (
        PARTITION BY geolocation_zip_code_prefix ORDER BY n DESC, geolocation_city
    ) = 1
),

state_counts AS (
    SELECT geolocation_zip_code_prefix, geolocation_state, count(*) AS n
    FROM points
    WHERE geolocation_state IS NOT NULL
    GROUP BY 1, 2
),

modal_state AS (
    SELECT geolocation_zip_code_prefix, geolocation_state
    FROM state_counts
    QUALIFY row_number() OVER (
        PARTITION BY geolocation_zip_code_prefix ORDER BY n DESC, geolocation_state
    ) = 1
)

SELECT
    points.geolocation_zip_code_prefix,
    median(points.geolocation_lat) AS geolocation_lat,
    median(points.geolocation_lng) AS geolocation_lng,
    any_value(modal_city.geolocation_city) AS geolocation_city,
    any_value(modal_state.geolocation_state) AS geolocation_state,
    count(*) AS geolocation_points
FROM points
LEFT JOIN modal_city USING (geolocation_zip_code_prefix)
LEFT JOIN modal_state USING (geolocation_zip_code_prefix)
GROUP BY points.geolocation_zip_code_prefix
ORDER BY points.geolocation_zip_code_prefix
