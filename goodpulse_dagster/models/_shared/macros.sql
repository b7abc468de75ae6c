-- DuckDB macros: SQL functions every model may call. The engine (engine.py) creates them once in
-- the process's database, so every cursor sees them. Plain functions of their arguments (no
-- $parameters, no tables), so that a translation to another dialect can define each as a UDF.

-- The one definition of a complete period (docs/metric_decisions.md "Complete periods"). The
-- period starting on the DATE `period` and lasting `months` months is complete when the data
-- covers its first and its last day: it starts on or after `first_day` (the first completed
-- purchase date) and ends on or before `last_day` (the last one, cut at as_of): columns of the
-- data_span CTE (include: data_span). A month in which the data starts on the 4th, or ends on
-- the 17th, is partial: its revenue or retention would read as a collapse. FALSE, never NULL,
-- when there is no data.
CREATE OR REPLACE MACRO period_is_complete(period, months, first_day, last_day) AS
    coalesce(period >= first_day AND (period + to_months(months))::DATE <= last_day + 1, FALSE);

-- value_segment of a revenue, given the [p20, p80, p95] cut points (`cuts`, a list) and the four
-- labels. Each segment's lower cut point is inclusive: Low < p20 <= Medium < p80 <= High < p95
-- <= VIP.
CREATE OR REPLACE MACRO value_segment_of(revenue, cuts, low_value, medium_value, high_value, vip) AS
    CASE WHEN revenue < cuts[1] THEN low_value
         WHEN revenue < cuts[2] THEN medium_value
         WHEN revenue < cuts[3] THEN high_value
         ELSE vip END;

-- churn_risk of a probability of being alive: High below `high_below`, Medium below
-- `medium_below`, Low otherwise (the thresholds of MetricParams, the labels of
-- schema.CHURN_RISK_BANDS).
CREATE OR REPLACE MACRO churn_risk_of(probability_alive, high_below, medium_below,
                                      high_risk, medium_risk, low_risk) AS
    CASE WHEN probability_alive < high_below THEN high_risk
         WHEN probability_alive < medium_below THEN medium_risk
         ELSE low_risk END;

-- The silver standardising of a text column (models/silver/): trimmed, and empty text is NULL
-- (an empty CSV field and a field of blanks both mean "no value").
CREATE OR REPLACE MACRO clean_text(value) AS NULLIF(trim(value), '');

-- A clean text of a category or a city: lower case ('Sao Paulo' and 'sao paulo' are one city).
CREATE OR REPLACE MACRO clean_lower(value) AS lower(clean_text(value));

-- A clean text of a state code: upper case ('sp' is 'SP').
CREATE OR REPLACE MACRO clean_upper(value) AS upper(clean_text(value));

-- A clean zip code prefix: 5 characters with leading zeros ('1012' and '01012' are one prefix).
CREATE OR REPLACE MACRO zip_prefix(value) AS lpad(clean_text(value), 5, '0');
