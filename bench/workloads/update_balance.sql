-- update_balance: one account's balance changes by a random amount; the
-- write that every writer of pgbench_accounts pays the IMMV maintenance for.
\set aid random(1, 100000 * :scale)
\set delta random(-5000, 5000)
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
