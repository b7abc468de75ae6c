-- silver.geolocation, standardising step: one row per bronze point, the zip prefix a 5-character
-- string with leading zeros, the city lower case and the state upper case.
-- Grain of this step: one row per point (bronze has many points per zip prefix). The silver rules
-- (silver/rules.py) then drop exact duplicates and quarantine points that are not
-- finite, lie outside Brazil or have no prefix; geolocation__by_zip_prefix.sql folds the points
-- left into the table's one row per prefix.
-- Input: bronze (bronze.geolocation). Parameters: none.
SELECT
    zip_prefix(geolocation_zip_code_prefix) AS geolocation_zip_code_prefix,
    geolocation_lat,
    geolocation_lng,
    clean_lower(geolocation_city) AS geolocation_city,
    clean_upper(geolocation_state) AS geolocation_state,
    _source_file,
    _ingested_at
FROM bronze
