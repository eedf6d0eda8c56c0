-- append_history: insert-only; one row appended to pgbench_history per
-- transaction, nothing updated or deleted (an event log). Every change an
-- IMMV over it sees is an insertion.
\set aid random(1, 100000 * :scale)
\set bid random(1, 1 * :scale)
\set tid random(1, 10 * :scale)
\set delta random(-5000, 5000)
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);
