CREATE EXTENSION IF NOT EXISTS pg_ivmx;
-- The many ways a statement can change a base table: multi-statement
-- transactions, savepoints, writable CTEs changing the table twice, INSERT ...
-- ON CONFLICT, MERGE, COPY, UPDATE ... FROM, DELETE ... USING, prepared
-- statements, PL/pgSQL loops, writes through a view, foreign-key cascades,
-- and user triggers on the base table that change the same table.
-- Every IMMV shape watches the same table; :verify checks all of them.

CREATE TABLE acct (id int PRIMARY KEY, owner text NOT NULL, branch int, balance int NOT NULL);
INSERT INTO acct VALUES (1, 'ann', 1, 100), (2, 'bob', 1, 200), (3, 'cid', 2, 300), (4, 'dee', NULL, 50);

SELECT ivmx.create_immv('acct_pk', 'SELECT id, owner, balance FROM acct');
SELECT ivmx.create_immv('acct_bag', 'SELECT branch, balance FROM acct');
SELECT ivmx.create_immv('acct_branch',
    'SELECT branch, count(*) AS n, sum(balance) AS total, avg(balance) AS mean,
            min(balance) AS lo, max(balance) AS hi
       FROM acct GROUP BY branch');
SELECT ivmx.create_immv('acct_owners', 'SELECT DISTINCT owner FROM acct');
SELECT ivmx.create_immv('acct_all', 'SELECT count(*) AS n, sum(balance) AS total, max(balance) AS hi FROM acct');

\set verify 'SELECT ivmx.verify_immv(''acct_pk'') AS acct_pk, ivmx.verify_immv(''acct_bag'') AS acct_bag, ivmx.verify_immv(''acct_branch'') AS acct_branch, ivmx.verify_immv(''acct_owners'') AS acct_owners, ivmx.verify_immv(''acct_all'') AS acct_all'
\set show 'SELECT branch, n, total, lo, hi FROM acct_branch ORDER BY branch'
:verify;
:show;

-- A transfer: several statements in one transaction, committed.
BEGIN;
UPDATE acct SET balance = balance - 30 WHERE id = 1;
:verify;
UPDATE acct SET balance = balance + 30 WHERE id = 3;
:verify;
INSERT INTO acct VALUES (5, 'eve', 2, 10);
:verify;
COMMIT;
:verify;
:show;

-- Full rollback of a transaction with every kind of statement.
BEGIN;
INSERT INTO acct VALUES (6, 'fay', 3, 999);
:verify;
UPDATE acct SET branch = 3 WHERE branch = 1;
:verify;
DELETE FROM acct WHERE branch IS NULL;
:verify;
:show;
ROLLBACK;
:verify;
:show;

-- Nested savepoints, each rolled back or released.
BEGIN;
DELETE FROM acct WHERE id = 5;
:verify;
SAVEPOINT a;
UPDATE acct SET balance = 0;
:verify;
SAVEPOINT b;
INSERT INTO acct VALUES (7, 'gus', 1, 1000), (8, 'ann', 1, 1);
:verify;
ROLLBACK TO SAVEPOINT b;
:verify;
:show;
ROLLBACK TO SAVEPOINT a;
:verify;
SAVEPOINT c;
INSERT INTO acct VALUES (7, 'gus', 1, 1000);
:verify;
RELEASE SAVEPOINT c;
:verify;
COMMIT;
:verify;
:show;
-- An error inside a savepoint leaves the IMMVs as they were.
BEGIN;
SAVEPOINT s;
INSERT INTO acct VALUES (9, 'hal', 1, 5), (1, 'dup', 1, 5);   -- duplicate key
ROLLBACK TO SAVEPOINT s;
:verify;
COMMIT;
:verify;

-- Writable CTEs changing the table twice in one statement.
WITH ins AS (INSERT INTO acct VALUES (10, 'ivy', 2, 70) RETURNING id),
     del AS (DELETE FROM acct WHERE id = 7 RETURNING id)
SELECT (SELECT count(*) FROM ins) AS inserted, (SELECT count(*) FROM del) AS deleted;
:verify;
WITH up AS (UPDATE acct SET balance = balance * 2 WHERE branch = 2 RETURNING id),
     ins AS (INSERT INTO acct VALUES (11, 'jon', 2, 1), (12, 'kim', NULL, 500) RETURNING id)
SELECT (SELECT count(*) FROM up) AS updated, (SELECT count(*) FROM ins) AS inserted;
:verify;
WITH i1 AS (INSERT INTO acct VALUES (13, 'lou', 4, 40) RETURNING id),
     i2 AS (INSERT INTO acct VALUES (14, 'lou', 4, 41) RETURNING id)
SELECT (SELECT count(*) FROM i1) + (SELECT count(*) FROM i2) AS inserted;
:verify;
WITH d AS (DELETE FROM acct WHERE id = 12 RETURNING *)
INSERT INTO acct SELECT id + 100, owner, branch, balance + 1 FROM d;   -- the row comes back changed
:verify;
WITH up AS (UPDATE acct SET branch = 4 WHERE id = 3 RETURNING id),
     del AS (DELETE FROM acct WHERE id = 13 RETURNING id)
SELECT (SELECT count(*) FROM up) AS updated, (SELECT count(*) FROM del) AS deleted;
:verify;
:show;

-- INSERT ... ON CONFLICT.
INSERT INTO acct VALUES (1, 'ann', 1, 5), (20, 'max', 5, 20)
    ON CONFLICT (id) DO UPDATE SET balance = acct.balance + excluded.balance;
:verify;
INSERT INTO acct VALUES (2, 'bob', 9, 9), (21, 'ned', 5, 21)
    ON CONFLICT (id) DO UPDATE SET branch = excluded.branch WHERE acct.balance > 1000;  -- no update
:verify;
INSERT INTO acct VALUES (2, 'bob', 9, 9), (22, 'oli', 5, 22) ON CONFLICT DO NOTHING;
:verify;
INSERT INTO acct VALUES (20, 'max', 5, 0) ON CONFLICT (id) DO UPDATE SET branch = NULL;   -- group key to NULL
:verify;
:show;

-- MERGE: update, delete and insert in one statement.
MERGE INTO acct a
USING (VALUES (1, 'ann', 1, 0), (2, 'bob', 1, -1), (30, 'pat', 6, 30)) AS s(id, owner, branch, balance)
   ON a.id = s.id
 WHEN MATCHED AND s.balance < 0 THEN DELETE
 WHEN MATCHED THEN UPDATE SET balance = s.balance
 WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.owner, s.branch, s.balance);
:verify;
:show;

-- UPDATE ... FROM, DELETE ... USING, RETURNING.
CREATE TABLE bonus (branch int, amount int);
INSERT INTO bonus VALUES (2, 5), (4, 7);
UPDATE acct SET balance = balance + b.amount FROM bonus b WHERE acct.branch = b.branch RETURNING id, balance;
:verify;
DELETE FROM acct USING bonus b WHERE acct.branch = b.branch AND b.amount = 7 RETURNING id;
:verify;
:show;

-- COPY FROM STDIN, including an existing owner and a NULL branch.
COPY acct FROM STDIN;
40	ann	2	400
41	new	\N	41
\.
:verify;

-- Prepared statements executed several times.
PREPARE ins(int, text, int, int) AS INSERT INTO acct VALUES ($1, $2, $3, $4);
PREPARE mv(int, int) AS UPDATE acct SET branch = $2 WHERE id = $1;
PREPARE del(int) AS DELETE FROM acct WHERE id = $1;
EXECUTE ins(50, 'q1', 7, 1);
:verify;
EXECUTE ins(51, 'q2', 7, 2);
:verify;
EXECUTE mv(50, 8);
:verify;
EXECUTE mv(51, 8);
:verify;
EXECUTE del(50);
:verify;
EXECUTE del(51);
:verify;
DEALLOCATE ALL;

-- A PL/pgSQL loop: one statement per iteration, all in one transaction.
DO $$
BEGIN
    FOR i IN 1..5 LOOP
        INSERT INTO acct VALUES (60 + i, 'loop', i % 2, i * 10);
        UPDATE acct SET balance = balance + 1 WHERE id = 60 + i - 1;
    END LOOP;
    DELETE FROM acct WHERE id = 63;
END $$;
:verify;
:show;

-- Writes through an updatable view on the base table.
CREATE VIEW rich AS SELECT id, owner, branch, balance FROM acct WHERE balance >= 100;
INSERT INTO rich VALUES (70, 'via', 9, 100);
:verify;
UPDATE rich SET balance = balance + 1000 WHERE branch = 9;
:verify;
DELETE FROM rich WHERE id = 70;
:verify;

-- A base table changed by foreign-key cascades from another table.
CREATE TABLE branch (id int PRIMARY KEY);
CREATE TABLE member (id int PRIMARY KEY, branch_id int REFERENCES branch ON DELETE CASCADE ON UPDATE CASCADE,
                     score int);
INSERT INTO branch VALUES (1), (2), (3);
INSERT INTO member VALUES (1, 1, 10), (2, 1, 20), (3, 2, 30), (4, 3, 40);
SELECT ivmx.create_immv('member_by_branch',
    'SELECT branch_id, count(*) AS n, sum(score) AS total, max(score) AS best FROM member GROUP BY branch_id');
DELETE FROM branch WHERE id = 1;
SELECT ivmx.verify_immv('member_by_branch');
UPDATE branch SET id = 20 WHERE id = 2;
SELECT ivmx.verify_immv('member_by_branch');
SELECT branch_id, n, total, best FROM member_by_branch ORDER BY branch_id;

-- User triggers on the base table that change the same table.
-- A BEFORE ROW trigger that rewrites the new row and deletes an older row
-- of the same owner (the nested DELETE finishes before the INSERT).
CREATE FUNCTION acct_replace() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM acct WHERE owner = NEW.owner AND id <> NEW.id;
    NEW.balance := NEW.balance + 1;
    RETURN NEW;
END $$;
CREATE TRIGGER acct_replace BEFORE INSERT ON acct FOR EACH ROW EXECUTE FUNCTION acct_replace();
INSERT INTO acct VALUES (80, 'ann', 1, 80);
:verify;
INSERT INTO acct VALUES (81, 'zoe', 1, 81);
:verify;
INSERT INTO acct VALUES (82, 'zoe', 2, 82);
:verify;
DROP TRIGGER acct_replace ON acct;
-- An AFTER ROW trigger that inserts a further row into the same table.
CREATE FUNCTION acct_fee() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO acct VALUES (NEW.id + 1000, 'fee', NEW.branch, 1);
    RETURN NULL;
END $$;
CREATE TRIGGER acct_fee AFTER INSERT ON acct FOR EACH ROW WHEN (NEW.owner <> 'fee')
    EXECUTE FUNCTION acct_fee();
INSERT INTO acct VALUES (90, 'fred', 3, 90), (91, 'gina', NULL, 91);
:verify;
DROP TRIGGER acct_fee ON acct;
-- An AFTER STATEMENT trigger that fires after pg_ivmx's (its name sorts after).
CREATE FUNCTION acct_round() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE acct SET balance = balance - balance % 10 WHERE balance % 10 <> 0;
    RETURN NULL;
END $$;
CREATE TRIGGER zz_acct_round AFTER INSERT ON acct FOR EACH STATEMENT EXECUTE FUNCTION acct_round();
INSERT INTO acct VALUES (95, 'hugo', 1, 95);
:verify;
DROP TRIGGER zz_acct_round ON acct;
:show;
SELECT id, owner, balance FROM acct_pk ORDER BY id;

-- DELETE of every row, TRUNCATE (also rolled back and inside a savepoint).
DELETE FROM acct;
:verify;
:show;
INSERT INTO acct VALUES (1, 'ann', 1, 100), (2, 'bob', 2, 200);
:verify;
BEGIN;
SAVEPOINT s;
TRUNCATE acct;
:verify;
ROLLBACK TO SAVEPOINT s;
:verify;
INSERT INTO acct VALUES (3, 'cid', 2, 300);
:verify;
COMMIT;
:verify;
:show;
TRUNCATE acct;
:verify;
SELECT n, total, hi FROM acct_all;

-- User triggers whose changes touch rows that the triggering statement
-- itself wrote: their nested statements finish (and are maintained) before
-- the triggering statement's own changes reach the IMMVs, which must still end
-- up equal to their queries. Each case starts from IMMVs refreshed from scratch.
CREATE TABLE item (id int PRIMARY KEY, grp int NOT NULL, price int NOT NULL);
SELECT ivmx.create_immv('item_bag', 'SELECT grp, price FROM item');
SELECT ivmx.create_immv('item_grp', 'SELECT grp, count(*) AS n, sum(price) AS total FROM item GROUP BY grp');
\set verify_item 'SELECT ivmx.verify_immv(''item_bag'') AS item_bag, ivmx.verify_immv(''item_grp'') AS item_grp'
\set reset_item 'SELECT ivmx.refresh_immv(''item_bag'') AS item_bag, ivmx.refresh_immv(''item_grp'') AS item_grp'
INSERT INTO item VALUES (1, 1, 10);
:verify_item;
-- An AFTER ROW trigger that updates the row just inserted.
CREATE FUNCTION item_scale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE item SET price = price * 100 WHERE id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER item_scale AFTER INSERT ON item FOR EACH ROW EXECUTE FUNCTION item_scale();
INSERT INTO item VALUES (2, 1, 2), (3, 2, 3);
:verify_item;
SELECT grp, price FROM item ORDER BY grp, price;
SELECT grp, price FROM item_bag ORDER BY grp, price;
SELECT grp, n, total FROM item_grp ORDER BY grp;
DROP TRIGGER item_scale ON item;
:reset_item;
-- An AFTER STATEMENT trigger whose name sorts before pg_ivmx's triggers.
CREATE FUNCTION item_cap() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE item SET price = 1000 WHERE price > 1000;
    RETURN NULL;
END $$;
CREATE TRIGGER a_item_cap AFTER INSERT ON item FOR EACH STATEMENT EXECUTE FUNCTION item_cap();
INSERT INTO item VALUES (4, 3, 5000);
:verify_item;
SELECT grp, price FROM item_bag ORDER BY grp, price;
SELECT grp, n, total FROM item_grp ORDER BY grp;
DROP TRIGGER a_item_cap ON item;
:reset_item;
-- A BEFORE ROW trigger deleting a row that an earlier row of the same
-- statement inserted.
CREATE FUNCTION item_replace() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM item WHERE grp = NEW.grp AND id <> NEW.id;
    RETURN NEW;
END $$;
CREATE TRIGGER item_replace BEFORE INSERT ON item FOR EACH ROW EXECUTE FUNCTION item_replace();
INSERT INTO item VALUES (5, 5, 1), (6, 5, 2);
:verify_item;
SELECT grp, price FROM item_bag ORDER BY grp, price;
SELECT grp, n, total FROM item_grp ORDER BY grp;
DROP TRIGGER item_replace ON item;

DROP TABLE acct, bonus, branch, member, item CASCADE;
