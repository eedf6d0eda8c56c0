CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- The IMMV name argument: [schema.]name[(column, ...)], with double-quoted
-- identifiers kept as written and unquoted ones folded to lower case; the
-- IMMV lands in the schema CREATE TABLE would use. Column alias lists rename
-- the leading output columns. Bad names are rejected before anything is
-- created. Base tables and columns with names that need quoting work too.

CREATE SCHEMA app;
CREATE SCHEMA "My Schema";
CREATE TABLE app."Order Lines" ("Line Id" int PRIMARY KEY, "Item" text, qty int, "Unit ""Price""" numeric(8,2));
INSERT INTO app."Order Lines" VALUES (1, 'pen', 2, 1.50), (2, 'pen', 1, 1.50), (3, 'ink', 5, 4.00), (4, NULL, 1, 0.50);

-- Schema-qualified names, quoted and unquoted; aliases for every column.
SELECT ivmx.create_immv('app.item_totals(item, lines, units)',
    'SELECT "Item", count(*), sum(qty) FROM app."Order Lines" GROUP BY "Item"');
SELECT ivmx.create_immv('"My Schema"."Item Totals"("Item Name", "Line Count", "Units ""Sold""")',
    'SELECT "Item", count(*), sum(qty) FROM app."Order Lines" GROUP BY "Item"');
-- Fewer aliases than columns: the rest keep their names.
SELECT ivmx.create_immv('app.lines(line)', 'SELECT "Line Id", "Item", "Unit ""Price""" * qty AS amount FROM app."Order Lines"');
-- Unquoted names fold to lower case, surrounding blanks are ignored.
SELECT ivmx.create_immv('  APP . Distinct_Items ( ITEM )  ', 'SELECT DISTINCT "Item" FROM app."Order Lines"');
-- Unqualified: created in the first schema of search_path.
SET search_path = "My Schema", public;
SELECT ivmx.create_immv('grand_total', 'SELECT sum(qty) AS units, count(*) AS n FROM app."Order Lines"');
RESET search_path;

SELECT schemaname, immvname FROM ivmx.immvs ORDER BY schemaname, immvname;
SELECT attrelid::regclass AS immv, attname FROM pg_attribute
 WHERE attrelid IN (SELECT immv FROM ivmx.immvs) AND attnum > 0 AND attname NOT LIKE '\_\_ivm%'
 ORDER BY attrelid::regclass::text, attnum;
SELECT ivmx.get_immv_def('"My Schema"."Item Totals"');

\set verify 'SELECT ivmx.verify_immv(''app.item_totals'') AS item_totals, ivmx.verify_immv(''"My Schema"."Item Totals"'') AS "Item Totals", ivmx.verify_immv(''app.lines'') AS lines, ivmx.verify_immv(''app.distinct_items'') AS distinct_items, ivmx.verify_immv(''"My Schema".grand_total'') AS grand_total'
:verify;
SELECT item, lines, units FROM app.item_totals ORDER BY item;
SELECT "Item Name", "Line Count", "Units ""Sold""" FROM "My Schema"."Item Totals" ORDER BY "Item Name";
SELECT line, "Item", amount FROM app.lines ORDER BY line;

INSERT INTO app."Order Lines" VALUES (5, 'ink', 1, 4.00), (6, 'pad', 3, 2.25);
:verify;
UPDATE app."Order Lines" SET "Item" = 'pad' WHERE "Item" IS NULL;
:verify;
UPDATE app."Order Lines" SET "Unit ""Price""" = "Unit ""Price""" * 2, "Line Id" = "Line Id" + 10 WHERE "Item" = 'pen';
:verify;
DELETE FROM app."Order Lines" WHERE "Item" = 'ink';
:verify;
SELECT item, lines, units FROM app.item_totals ORDER BY item;
SELECT "Item Name", "Line Count", "Units ""Sold""" FROM "My Schema"."Item Totals" ORDER BY "Item Name";
SELECT line, "Item", amount FROM app.lines ORDER BY line;
SELECT item FROM app.distinct_items ORDER BY item;
SELECT units, n FROM "My Schema".grand_total;
BEGIN;
TRUNCATE app."Order Lines";
:verify;
ROLLBACK;
:verify;
COPY app."Order Lines" FROM STDIN;
20	"quoted"	7	1.00
\.
:verify;
SELECT item, lines, units FROM app.item_totals ORDER BY item;
-- Renaming a quoted IMMV column keeps maintenance working.
ALTER TABLE "My Schema"."Item Totals" RENAME COLUMN "Units ""Sold""" TO units_sold;
UPDATE app."Order Lines" SET qty = qty + 1;
:verify;
SELECT "Item Name", "Line Count", units_sold FROM "My Schema"."Item Totals" ORDER BY "Item Name";

-- Errors. :rejected shows the SQLSTATE and whether anything named bad* exists.
\set rejected 'SELECT :''LAST_ERROR_SQLSTATE'' AS sqlstate, (SELECT count(*) FROM pg_class WHERE relname ILIKE ''bad%'') AS relations, (SELECT count(*) FROM ivmx.immv) AS immvs'
-- More aliases than columns.
SELECT ivmx.create_immv('bad(a, b, c)', 'SELECT "Item", qty FROM app."Order Lines"');
:rejected;
SELECT ivmx.create_immv('bad(a, b)', 'SELECT count(*) FROM app."Order Lines" GROUP BY "Item"');   -- the hidden key is no output column
:rejected;
-- Aliases that collide or are reserved.
SELECT ivmx.create_immv('bad(x, x)', 'SELECT "Item", qty FROM app."Order Lines"');
:rejected;
SELECT ivmx.create_immv('bad(qty)', 'SELECT "Item", qty FROM app."Order Lines"');
:rejected;
SELECT ivmx.create_immv('bad("__ivm_count__")', 'SELECT DISTINCT "Item" FROM app."Order Lines"');
:rejected;
-- Malformed names.
SELECT ivmx.create_immv('a.b.bad', 'SELECT qty FROM app."Order Lines"');
:rejected;
SELECT ivmx.create_immv('"bad', 'SELECT qty FROM app."Order Lines"');
:rejected;
SELECT ivmx.create_immv('""', 'SELECT qty FROM app."Order Lines"');
:rejected;
SELECT ivmx.create_immv('', 'SELECT qty FROM app."Order Lines"');
:rejected;
SELECT ivmx.create_immv('   ', 'SELECT qty FROM app."Order Lines"');
:rejected;
SELECT ivmx.create_immv('1bad', 'SELECT qty FROM app."Order Lines"');
:rejected;
SELECT ivmx.create_immv('bad name', 'SELECT qty FROM app."Order Lines"');
:rejected;
SELECT ivmx.create_immv('bad-name', 'SELECT qty FROM app."Order Lines"');
:rejected;
SELECT ivmx.create_immv('bad()', 'SELECT qty FROM app."Order Lines"');
:rejected;
SELECT ivmx.create_immv('bad(a', 'SELECT qty FROM app."Order Lines"');
:rejected;
SELECT ivmx.create_immv('bad(a,)', 'SELECT qty FROM app."Order Lines"');
:rejected;
SELECT ivmx.create_immv('bad(a) x', 'SELECT qty FROM app."Order Lines"');
:rejected;
SELECT ivmx.create_immv('app.', 'SELECT qty FROM app."Order Lines"');
:rejected;
SELECT ivmx.create_immv('.bad', 'SELECT qty FROM app."Order Lines"');
:rejected;
SELECT ivmx.create_immv('bad_' || repeat('x', 60), 'SELECT qty FROM app."Order Lines"');
:rejected;
SELECT ivmx.create_immv('bad(' || repeat('y', 64) || ')', 'SELECT qty FROM app."Order Lines"');
:rejected;
-- A schema that does not exist; a name already taken.
\set SHOW_CONTEXT never
SELECT ivmx.create_immv('nosuchschema.bad', 'SELECT qty FROM app."Order Lines"');
:rejected;
SELECT ivmx.create_immv('app.lines', 'SELECT qty FROM app."Order Lines"');
:rejected;
SELECT ivmx.create_immv('app."Order Lines"', 'SELECT qty FROM app."Order Lines"');
:rejected;
\set SHOW_CONTEXT errors
-- A name that is valid only when quoted.
SELECT ivmx.create_immv('"Bad-Name ok"', 'SELECT "Line Id", qty FROM app."Order Lines"');
SELECT ivmx.verify_immv('"Bad-Name ok"') AS "Bad-Name ok";
DELETE FROM app."Order Lines" WHERE qty > 5;
SELECT ivmx.verify_immv('"Bad-Name ok"') AS "Bad-Name ok";
:verify;
SELECT schemaname, immvname FROM ivmx.immvs ORDER BY schemaname, immvname;

DROP SCHEMA app, "My Schema" CASCADE;
SELECT count(*) AS immvs FROM ivmx.immv;
