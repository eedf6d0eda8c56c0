CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- SELECT DISTINCT views: a row stays while at least one base row produces it
-- (its multiplicity is kept in __ivm_count__), NULLs are one value, and
-- expressions and WHERE clauses work as in plain queries.
-- :verify checks every IMMV of this file against its query.

CREATE TABLE visits (
    id serial PRIMARY KEY,
    page text,
    country text,
    ms int
);
INSERT INTO visits (page, country, ms) VALUES
    ('/', 'fr', 10), ('/', 'fr', 20), ('/', 'de', 10),
    ('/a', 'fr', 30), ('/a', NULL, 40), (NULL, NULL, 50);

SELECT ivmx.create_immv('pages', 'SELECT DISTINCT page FROM visits');
SELECT ivmx.create_immv('page_country', 'SELECT DISTINCT page, country FROM visits');
SELECT ivmx.create_immv('slow_buckets',
    'SELECT DISTINCT ms / 20 AS bucket, coalesce(country, ''??'') AS country
       FROM visits WHERE ms >= 20');

\set verify 'SELECT ivmx.verify_immv(''pages'') AS pages, ivmx.verify_immv(''page_country'') AS page_country, ivmx.verify_immv(''slow_buckets'') AS slow_buckets'
:verify;

-- The multiplicity behind each row.
SELECT page, __ivm_count__ FROM pages ORDER BY page;
SELECT page, country FROM page_country ORDER BY page, country;
SELECT bucket, country FROM slow_buckets ORDER BY bucket, country;

-- INSERT a duplicate (no new row), a new value, a new NULL combination.
INSERT INTO visits (page, country, ms) VALUES ('/', 'fr', 15);
:verify;
INSERT INTO visits (page, country, ms) VALUES ('/b', 'it', 60), ('/b', 'it', 61);
:verify;
INSERT INTO visits (page, country, ms) VALUES (NULL, 'fr', 5);
:verify;
SELECT page, __ivm_count__ FROM pages ORDER BY page;
SELECT page, country FROM page_country ORDER BY page, country;

-- DELETE one of several duplicates (the row stays), then the last one.
DELETE FROM visits WHERE page = '/' AND ms = 20;
:verify;
DELETE FROM visits WHERE page = '/' AND country = 'fr';
:verify;
SELECT page, country FROM page_country ORDER BY page, country;
DELETE FROM visits WHERE page IS NULL AND country IS NULL;
:verify;
SELECT page, country FROM page_country ORDER BY page, country;

-- UPDATE values to and from NULL, merging two rows into one, splitting them.
UPDATE visits SET page = NULL WHERE page = '/b';
:verify;
SELECT page, __ivm_count__ FROM pages ORDER BY page;
UPDATE visits SET page = '/c' WHERE page IS NULL;
:verify;
UPDATE visits SET country = 'fr' WHERE country IS NULL OR country = 'de';
:verify;
SELECT page, country FROM page_country ORDER BY page, country;
UPDATE visits SET country = CASE WHEN id % 2 = 0 THEN 'es' ELSE 'pt' END;
:verify;
SELECT page, country FROM page_country ORDER BY page, country;
UPDATE visits SET ms = ms + 20;
:verify;
SELECT bucket, country FROM slow_buckets ORDER BY bucket, country;

-- Transactions.
BEGIN;
DELETE FROM visits;
:verify;
SAVEPOINT s;
INSERT INTO visits (page, country, ms) VALUES ('/x', 'fr', 1);
:verify;
ROLLBACK TO SAVEPOINT s;
:verify;
SELECT count(*) AS pages_rows FROM pages;
ROLLBACK;
:verify;
SELECT page, __ivm_count__ FROM pages ORDER BY page;

COPY visits (page, country, ms) FROM STDIN;
/	fr	100
/	fr	100
\N	\N	\N
\.
:verify;
SELECT page, __ivm_count__ FROM pages ORDER BY page;
SELECT bucket, country FROM slow_buckets ORDER BY bucket, country;

TRUNCATE visits;
:verify;
INSERT INTO visits (page, country, ms) VALUES ('/', NULL, 100);
:verify;
SELECT page, country FROM page_country ORDER BY page, country;
DELETE FROM visits;
:verify;
SELECT (SELECT count(*) FROM pages) AS pages, (SELECT count(*) FROM page_country) AS page_country,
       (SELECT count(*) FROM slow_buckets) AS slow_buckets;

DROP TABLE visits CASCADE;
