-- silver.geolocation, last step: one row per zip prefix, with the median latitude and longitude
-- of its points, its modal city and state (ties broken alphabetically, so the result is stable)
-- and geolocation_points, how many points it had.
-- Grain: one row per geolocation_zip_code_prefix.
-- Input: points (the standardised, deduplicated points inside Brazil that have a prefix, from
-- geolocation.sql and silver/rules.py). Parameters: none.
WITH place_values AS (
    -- The city and the state follow one rule (the modal value), so both are handled as rows:
    -- one row per point and place column (geolocation_city or geolocation_state) that has a
    -- value (UNPIVOT leaves the NULLs out, so a NULL never wins).
    UNPIVOT (SELECT geolocation_zip_code_prefix, geolocation_city, geolocation_state FROM points)
    ON geolocation_city, geolocation_state
    INTO NAME place_column VALUE place
),

modal_places AS (
    -- The most frequent city and state of each prefix, ties broken alphabetically.
    SELECT geolocation_zip_code_prefix, place_column, place
    FROM place_values
    GROUP BY geolocation_zip_code_prefix, place_column, place
    QUALIFY row_number() OVER (
        PARTITION BY geolocation_zip_code_prefix, place_column ORDER BY count(*) DESC, place
    ) = 1
),

modal AS (
    -- Back to one row per prefix, with columns geolocation_city and geolocation_state.
    PIVOT modal_places
    ON place_column IN ('geolocation_city', 'geolocation_state')
    USING any_value(place)
    GROUP BY geolocation_zip_code_prefix
)

SELECT
    points.geolocation_zip_code_prefix,
    median(points.geolocation_lat) AS geolocation_lat,
    median(points.geolocation_lng) AS geolocation_lng,
    any_value(modal.geolocation_city) AS geolocation_city,
    any_value(modal.geolocation_state) AS geolocation_state,
    count(*) AS geolocation_points
FROM points
LEFT JOIN modal USING (geolocation_zip_code_prefix)
GROUP BY points.geolocation_zip_code_prefix
ORDER BY points.geolocation_zip_code_prefix
