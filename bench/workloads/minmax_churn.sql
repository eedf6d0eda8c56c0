-- minmax_churn: in one random group of bench_readings (created by the
-- minmax_churn scenario: 1000 groups of 100 readings per scale unit, index on
-- (grp, val)), the reading holding the group's maximum and the one holding
-- its minimum are deleted and two new readings with random values are
-- inserted. Every transaction takes both extremes away from its group, so a
-- min/max IMMV must recompute the group (unless a new reading is a new
-- extreme): the worst case of min/max maintenance. A concurrent transaction
-- on the same group may find its extreme already gone and delete nothing;
-- the group then grows by one reading.
\set grp random(1, 1000 * :scale)
\set v1 random(1, 1000000)
\set v2 random(1, 1000000)
BEGIN;
DELETE FROM bench_readings WHERE id = (SELECT id FROM bench_readings WHERE grp = :grp ORDER BY val DESC, id DESC LIMIT 1);
DELETE FROM bench_readings WHERE id = (SELECT id FROM bench_readings WHERE grp = :grp ORDER BY val, id LIMIT 1);
INSERT INTO bench_readings (grp, val) VALUES (:grp, :v1), (:grp, :v2);
END;
