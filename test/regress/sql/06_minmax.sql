CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- min and max: inserts fold into the stored extreme; deleting or updating
-- away the current extreme recomputes it from the base table (for every
-- affected group in one statement). Ties, NULLs, NULL group keys, keys not
-- selected, expression keys and a WHERE clause are covered.
-- :verify checks every IMMV of this file against its query.

CREATE TABLE scores (id int PRIMARY KEY, team text, player text, pts int, ts int);
INSERT INTO scores VALUES
    (1, 'red', 'ann', 10, 1), (2, 'red', 'bob', 30, 2), (3, 'red', 'cat', 30, 3),
    (4, 'blue', 'dan', 5, 4), (5, 'blue', 'eva', NULL, 5), (6, NULL, 'fox', 7, 6),
    (7, NULL, 'gil', 1, 7), (8, 'green', 'hal', NULL, 8);

SELECT ivmx.create_immv('team_range',
    'SELECT team, min(pts) AS lo, max(pts) AS hi, min(player) AS first_player,
            max(player) AS last_player, count(*) AS n
       FROM scores GROUP BY team');
SELECT ivmx.create_immv('overall',
    'SELECT min(pts) AS lo, max(pts) AS hi, max(player) AS last_player FROM scores');
SELECT ivmx.create_immv('hidden_team', 'SELECT max(pts) AS hi FROM scores GROUP BY team');
SELECT ivmx.create_immv('by_initial',
    'SELECT substr(player, 1, 1) AS initial, min(pts) AS lo, max(ts) AS latest
       FROM scores WHERE pts IS NOT NULL GROUP BY substr(player, 1, 1)');

\set verify 'SELECT ivmx.verify_immv(''team_range'') AS team_range, ivmx.verify_immv(''overall'') AS overall, ivmx.verify_immv(''hidden_team'') AS hidden_team, ivmx.verify_immv(''by_initial'') AS by_initial'
\set show 'SELECT team, lo, hi, first_player, last_player, n FROM team_range ORDER BY team'
\set show_overall 'SELECT lo, hi, last_player FROM overall'
:verify;
:show;
:show_overall;
SELECT hi FROM hidden_team ORDER BY hi;
SELECT initial, lo, latest FROM by_initial ORDER BY initial;

-- Inserting a new extreme, a non-extreme, a tie.
INSERT INTO scores VALUES (9, 'red', 'abe', 50, 9);
:verify;
INSERT INTO scores VALUES (10, 'red', 'zed', 20, 10), (11, 'blue', 'ben', 5, 11);
:verify;
:show;
:show_overall;

-- Deleting the current max (red: 50), then one of two tied values (30).
DELETE FROM scores WHERE id = 9;
:verify;
:show;
DELETE FROM scores WHERE id = 2;
:verify;
:show;
DELETE FROM scores WHERE id = 3;
:verify;
:show;
:show_overall;
-- Deleting a value that is not an extreme.
DELETE FROM scores WHERE id = 10;
:verify;
:show;

-- UPDATE: the max becomes smaller, the min larger, a non-extreme beats the
-- max, the extreme moves to NULL and back, extremes of several groups at once.
UPDATE scores SET pts = 2 WHERE id = 1;                 -- red: max 10 -> 2
:verify;
:show;
UPDATE scores SET pts = 6 WHERE id = 4;                 -- blue: min 5 -> 5 (tie with ben)
:verify;
UPDATE scores SET pts = 9 WHERE id = 11;                -- blue: min 5 -> 6, max 6 -> 9
:verify;
:show;
UPDATE scores SET pts = NULL WHERE team = 'blue';      -- blue: every pts NULL
:verify;
:show;
UPDATE scores SET pts = 4 WHERE id = 5;                 -- blue: one value again
:verify;
:show;
UPDATE scores SET pts = pts + 100 WHERE team IS NULL;   -- the NULL group's extremes move up
:verify;
:show;
:show_overall;
UPDATE scores SET pts = 0 WHERE pts = (SELECT max(pts) FROM scores);
:verify;
:show_overall;
UPDATE scores SET player = 'aaa' WHERE player = 'gil';  -- text min/max
:verify;
:show;
:show_overall;

-- Rows moving between groups carry their values along.
UPDATE scores SET team = 'red' WHERE team IS NULL;
:verify;
:show;
UPDATE scores SET team = NULL WHERE id IN (1, 4);
:verify;
:show;
SELECT hi FROM hidden_team ORDER BY hi;
SELECT initial, lo, latest FROM by_initial ORDER BY initial;

-- One statement deleting the extremes of every group.
DELETE FROM scores WHERE (team, pts) IN (SELECT team, max(pts) FROM scores GROUP BY team)
                      OR (team IS NULL AND pts = (SELECT max(pts) FROM scores WHERE team IS NULL));
:verify;
:show;
:show_overall;
SELECT hi FROM hidden_team ORDER BY hi;

-- Savepoints.
BEGIN;
INSERT INTO scores VALUES (20, 'red', 'top', 1000, 20);
:verify;
SAVEPOINT s;
DELETE FROM scores WHERE team = 'red';
:verify;
:show;
ROLLBACK TO SAVEPOINT s;
:verify;
:show;
ROLLBACK;
:verify;
:show;

COPY scores FROM STDIN;
30	green	xia	-5	30
31	green	yan	\N	31
\.
:verify;
:show;
:show_overall;

-- Deleting every row, then TRUNCATE.
DELETE FROM scores;
:verify;
:show_overall;
SELECT count(*) AS team_range_rows FROM team_range;
INSERT INTO scores VALUES (1, 'red', 'ann', 10, 1), (2, 'red', 'bob', NULL, 2);
:verify;
:show;
TRUNCATE scores;
:verify;
:show_overall;
INSERT INTO scores VALUES (1, NULL, NULL, NULL, NULL);
:verify;
:show;
:show_overall;

DROP TABLE scores CASCADE;
