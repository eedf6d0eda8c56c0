-- txn_mixed: one transaction updates two of pgbench_accounts, pgbench_tellers
-- and pgbench_branches, which two and in which order chosen at random (six
-- cases, equally likely), then records the change in pgbench_history.
-- Transactions lock their rows in different orders, so two of them that
-- meet on the same teller or branch (10 tellers and 1 branch per scale
-- unit) can deadlock even without a view: the workload's own baseline.
-- Views over these tables add locks of their own (the rows of aggregate
-- groups), taken in the order of the statements. Run with pgbench
-- --max-tries so that a deadlocked transaction is rolled back and tried
-- again (with the same random values).
\set aid random(1, 100000 * :scale)
\set bid random(1, 1 * :scale)
\set tid random(1, 10 * :scale)
\set delta random(-5000, 5000)
\set pick random(1, 6)
BEGIN;
\if :pick = 1
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
\elif :pick = 2
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
\elif :pick = 3
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;
\elif :pick = 4
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
\elif :pick = 5
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;
\else
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
\endif
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);
END;
