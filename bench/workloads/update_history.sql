-- update_history: one account's balance changes and the change is recorded in
-- pgbench_history, in one transaction (tpcb-like without the teller and
-- branch updates): IMMVs over both tables are maintained by one writer
-- transaction, two statements.
\set aid random(1, 100000 * :scale)
\set bid random(1, 1 * :scale)
\set tid random(1, 10 * :scale)
\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);
END;
