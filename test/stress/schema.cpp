// The stress test's tables and IMMVs (see schema.hpp).
#include "schema.hpp"

#include <stdexcept>

#include "pg.hpp"

namespace stress {

const Column& Table::Get(const std::string& column) const {
    for (const Column& c : columns)
        if (c.name == column) return c;
    throw std::logic_error("no column " + column + " in " + name);
}

std::string Table::ColumnList() const {
    std::string out;
    for (const Column& c : columns) out += (out.empty() ? "" : ", ") + c.name;
    return out;
}

// Autovacuum stays off so that the physical state, and with it the run, depends
// only on the statements executed.
std::string Table::CreateSql() const {
    std::string sql = "CREATE TABLE " + name + " (";
    for (size_t i = 0; i < columns.size(); ++i) {
        const Column& c = columns[i];
        sql += (i > 0 ? ", " : "") + c.name + " " + c.type + (c.nullable ? "" : " NOT NULL");
        if (!c.references.empty()) sql += " REFERENCES " + c.references + " ON DELETE CASCADE ON UPDATE CASCADE";
    }
    if (!primary_key.empty()) {
        sql += ", PRIMARY KEY (";
        for (size_t i = 0; i < primary_key.size(); ++i) sql += (i > 0 ? ", " : "") + primary_key[i];
        sql += ")";
    }
    // (A partitioned table has no storage: its partitions carry the option.)
    if (!partition_by.empty()) return sql + ") PARTITION BY " + partition_by;
    return sql + ") WITH (autovacuum_enabled = off)";
}

const std::vector<Table>& Tables() {
    static const std::vector<Table> tables = {
        {"t_pk",
         {{"id", "integer", ValueKind::Key, false},
          {"g", "integer", ValueKind::Small, false, 5},
          {"n", "integer", ValueKind::Small, true, 6},
          {"v", "numeric", ValueKind::Numeric, true},
          {"f", "double precision", ValueKind::Float, true},
          {"s", "text", ValueKind::Text, true}},
         {"id"},
         "id"},
        {"t_bag",
         {{"rid", "integer", ValueKind::Key, false},
          {"g", "integer", ValueKind::Small, true, 4},
          {"n", "integer", ValueKind::Small, true, 4},
          {"v", "numeric", ValueKind::Numeric, true},
          {"f", "double precision", ValueKind::Float, false},
          {"s", "text", ValueKind::Text, true}},
         {},
         "rid",
         "LIST (g)",
         {"t_bag_0", "t_bag_12", "t_bag_12a", "t_bag_12b", "t_bag_other"}},
        {"t_kv",
         {{"a", "integer", ValueKind::Small, false, 4},
          {"b", "integer", ValueKind::Key, false},
          {"g", "integer", ValueKind::Small, false, 3},
          {"x", "integer", ValueKind::Small, true, 5},
          {"s", "text", ValueKind::Text, true},
          {"t", "text", ValueKind::Text, false}},
         {"a", "b"},
         "b"},
        // Rows of t_pk's children: pid NULL or an existing t_pk.id. Deleting a
        // t_pk row, or changing its id, changes t_fk in the same statement.
        {"t_fk",
         {{"cid", "integer", ValueKind::Key, false},
          {"pid", "integer", ValueKind::Reference, true, 0, "t_pk"},
          {"k", "integer", ValueKind::Small, true, 4},
          {"w", "integer", ValueKind::Small, true, 3},
          {"s", "text", ValueKind::Text, true}},
         {"cid"},
         "cid"},
    };
    return tables;
}

// A t_fk row inserted with w = 0 gets a mirror row in t_bag (rid = -cid), and
// deleting such a row deletes its mirror: a trigger writing another table, so
// that one statement (with ON DELETE CASCADE, up to three: t_pk -> t_fk ->
// t_bag) changes several base tables of one IMMV.
const std::vector<std::string>& TableTriggersSql() {
    static const std::vector<std::string> sql = {
        // t_bag's partitions: NULL and 0; 1 and 2, hashed in two by rid; the
        // rest.
        "CREATE TABLE t_bag_0 PARTITION OF t_bag FOR VALUES IN (NULL, 0) WITH (autovacuum_enabled = off)",
        "CREATE TABLE t_bag_12 PARTITION OF t_bag FOR VALUES IN (1, 2) PARTITION BY HASH (rid)",
        "CREATE TABLE t_bag_12a PARTITION OF t_bag_12 FOR VALUES WITH (MODULUS 2, REMAINDER 0) "
        "WITH (autovacuum_enabled = off)",
        "CREATE TABLE t_bag_12b PARTITION OF t_bag_12 FOR VALUES WITH (MODULUS 2, REMAINDER 1) "
        "WITH (autovacuum_enabled = off)",
        "CREATE TABLE t_bag_other PARTITION OF t_bag DEFAULT WITH (autovacuum_enabled = off)",
        // Join columns are indexed, as a schema with joins would have them:
        // the outer-join and EXISTS maintenance probes them per delta row.
        "CREATE INDEX ON t_fk (pid)",
        "CREATE INDEX ON t_fk (k, w)",
        "CREATE INDEX ON t_kv (x)",
        "CREATE INDEX ON t_bag (g, n)",
        "CREATE INDEX ON t_pk (n, g)",
        "CREATE FUNCTION t_fk_mirror() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF TG_OP = 'INSERT' THEN "
        "INSERT INTO t_bag (rid, g, n, v, f, s) VALUES (-NEW.cid, NEW.k, NEW.w, NULL, 0, NEW.s); "
        "ELSE DELETE FROM t_bag WHERE rid = -OLD.cid; END IF; RETURN NULL; END $$",
        "CREATE TRIGGER t_fk_mirror_insert AFTER INSERT ON t_fk FOR EACH ROW WHEN (NEW.w = 0) "
        "EXECUTE FUNCTION t_fk_mirror()",
        "CREATE TRIGGER t_fk_mirror_delete AFTER DELETE ON t_fk FOR EACH ROW WHEN (OLD.w = 0) "
        "EXECUTE FUNCTION t_fk_mirror()",
    };
    return sql;
}

const Table& TableNamed(const std::string& name) {
    for (const Table& t : Tables())
        if (t.name == name) return t;
    throw std::logic_error("no table " + name);
}

namespace {

// Outer joins, EXISTS/NOT EXISTS, subqueries in FROM and WITH queries, each
// created twice: immediate as mv_<suffix> and deferred as dmv_<suffix>. Join
// keys are small nullable columns (and t_fk.pid, a nullable foreign key), so
// that rows find several partners, none, or lose their last one and become
// dangling (NULL-extended) rows.
struct TwinShape {
    std::string suffix;
    std::string shape;
    std::string query;
};

const std::vector<TwinShape>& TwinShapes() {
    static const std::vector<TwinShape> shapes = {
        {"fk_keyed", "inner join on a foreign key; t_pk's key read from t_fk.pid (keyed rows)",
         "SELECT c.cid, c.pid, p.g, p.v, c.w FROM t_fk c JOIN t_pk p ON c.pid = p.id"},
        {"kv_keyed", "inner join of three tables, t_pk's key read from t_kv.a (keyed rows)",
         "SELECT k.a, k.b, c.cid, p.n, p.s FROM t_kv k JOIN t_pk p ON p.id = k.a "
         "JOIN t_fk c ON c.pid = p.id"},
        {"left_bag", "LEFT JOIN of two tables on two nullable keys, bag",
         "SELECT b.rid, b.g, b.s, k.b AS kb, k.t FROM t_bag b "
         "LEFT JOIN t_kv k ON b.n = k.x AND b.g = k.a"},
        {"part_groups", "GROUP BY over one partition of t_bag (itself partitioned): rows come and go as g moves",
         "SELECT g, rid % 3 AS r3, count(*) AS cnt, sum(v) AS sum_v, max(n) AS max_n FROM t_bag_12 GROUP BY g, rid % "
         "3"},
        {"part_join", "a leaf partition of t_bag joined to t_kv",
         "SELECT b.rid, b.n, k.b AS kb FROM t_bag_other b JOIN t_kv k ON k.x = b.n"},
        {"top_pk", "top-K: the rows of t_pk with the largest v (NULLs first), ties broken by the key",
         "SELECT id, v, g FROM t_pk ORDER BY v DESC, id LIMIT 4"},
        {"top_groups", "top-K over GROUP BY of the partitioned t_bag, with OFFSET",
         "SELECT g, count(*) AS cnt, sum(v) AS sum_v FROM t_bag GROUP BY g ORDER BY cnt DESC, g NULLS FIRST "
         "LIMIT 2 OFFSET 1"},
        {"win_rank", "window functions partitioned by a nullable key: row_number, rank over ties, a running sum",
         "SELECT id, g, row_number() OVER (PARTITION BY n ORDER BY v DESC NULLS LAST, id) AS rn, "
         "rank() OVER (PARTITION BY n ORDER BY g) AS rk, sum(v) OVER (PARTITION BY n ORDER BY id) AS run FROM t_pk"},
        {"top_per_group", "the two largest rows of each group: row_number() in a subquery, filtered outside",
         "SELECT id, n, v, rn FROM (SELECT id, n, v, row_number() OVER (PARTITION BY n ORDER BY v DESC NULLS LAST, id) "
         "AS rn FROM t_pk) s WHERE rn <= 2"},
        {"distinct_on", "DISTINCT ON over the partitioned t_bag (duplicates: ties broken by every column read)",
         "SELECT DISTINCT ON (g) g, rid, n, v FROM t_bag ORDER BY g, v DESC, rid, n"},
        {"right_fk", "RIGHT JOIN on a foreign key (ON DELETE/UPDATE CASCADE)",
         "SELECT p.id, p.g, c.cid, c.w FROM t_fk c RIGHT JOIN t_pk p ON c.pid = p.id"},
        {"full_join", "FULL JOIN of two tables on nullable keys",
         "SELECT p.id, p.n, k.a, k.b, k.s FROM t_pk p "
         "FULL JOIN t_kv k ON p.n = k.x AND p.g = k.a"},
        {"left_nested", "3 tables: a LEFT JOIN (b JOIN c)",
         "SELECT p.id, p.n, k.b, c.cid FROM t_pk p "
         "LEFT JOIN (t_kv k JOIN t_fk c ON c.k = k.a AND c.w = k.g) ON p.n = k.x AND p.g = c.k"},
        {"full_left", "3 tables: a FULL JOIN b LEFT JOIN c",
         "SELECT b.rid, b.n, k.b, c.cid FROM t_bag b "
         "FULL JOIN t_kv k ON b.n = k.x AND b.g = k.a "
         "LEFT JOIN t_fk c ON c.k = k.a AND c.s = k.s"},
        {"self_left", "self LEFT JOIN with a non-equality in ON",
         "SELECT p.id, q.id AS qid, q.v FROM t_pk p LEFT JOIN t_pk q ON q.g = p.n AND q.id > p.id"},
        {"left_groups", "count/sum/min/max grouped over a LEFT JOIN (preserved side key)",
         "SELECT p.g, count(*) AS cnt, count(c.cid) AS cnt_c, sum(c.w) AS sum_w, "
         "min(c.s) AS min_s, max(c.w) AS max_w FROM t_pk p LEFT JOIN t_fk c ON c.pid = p.id "
         "GROUP BY p.g"},
        {"left_null_groups", "aggregates grouped by the nullable side of a LEFT JOIN",
         "SELECT k.g AS kg, count(*) AS cnt, count(k.b) AS cnt_b, sum(b.f) AS sum_f, "
         "min(k.x) AS min_x, max(b.v) AS max_v FROM t_bag b "
         "LEFT JOIN t_kv k ON b.g = k.a AND b.n = k.x GROUP BY k.g"},
        {"full_distinct", "DISTINCT over a FULL JOIN",
         "SELECT DISTINCT b.g, k.g AS kg, k.x FROM t_bag b FULL JOIN t_kv k ON b.n = k.x"},
        {"left_is_null", "LEFT JOIN with a WHERE that keeps NULL-extended rows",
         "SELECT p.id, p.g, c.cid FROM t_pk p LEFT JOIN t_fk c ON c.pid = p.id WHERE c.w IS NULL"},
        {"exists", "EXISTS correlated on two nullable keys",
         "SELECT b.rid, b.g, b.n FROM t_bag b "
         "WHERE EXISTS (SELECT 1 FROM t_kv k WHERE k.a = b.g AND k.x = b.n)"},
        {"not_exists", "NOT EXISTS on a foreign key, with a filter",
         "SELECT p.id, p.n FROM t_pk p "
         "WHERE NOT EXISTS (SELECT 1 FROM t_fk c WHERE c.pid = p.id AND c.w IS NOT NULL)"},
        {"exists_not_exists", "EXISTS and NOT EXISTS over a join, correlated to both tables",
         "SELECT p.id, k.a, k.b FROM t_pk p JOIN t_kv k ON p.n = k.x AND p.g = k.a "
         "WHERE EXISTS (SELECT 1 FROM t_bag b WHERE b.g = k.g AND b.n = p.g) "
         "AND NOT EXISTS (SELECT 1 FROM t_fk c WHERE c.k = k.a AND c.w = p.n)"},
        // IN / ANY / ALL (subquery), rewritten into EXISTS / NOT EXISTS:
        // NULLs on both sides of NOT IN and ALL, subqueries that may be
        // empty.
        {"in_plain", "IN over a nullable column of a bag table, uncorrelated",
         "SELECT p.id, p.n FROM t_pk p WHERE p.n IN (SELECT b.n FROM t_bag b WHERE b.g <> 2)"},
        {"not_in", "NOT IN over nullable columns, uncorrelated, the subquery often empty or with a NULL",
         "SELECT b.rid, b.g, b.n FROM t_bag b WHERE b.n NOT IN (SELECT c.w FROM t_fk c WHERE c.k = 1)"},
        {"not_in_join", "NOT IN correlated to one table of a join",
         "SELECT p.id, k.a, k.b FROM t_pk p JOIN t_kv k ON p.g = k.a "
         "WHERE p.n NOT IN (SELECT c.w FROM t_fk c WHERE c.k = k.x)"},
        {"row_in_any", "a row IN and = ANY on a foreign key",
         "SELECT c.cid, c.k, c.w FROM t_fk c WHERE (c.k, c.w) IN (SELECT b.g, b.n FROM t_bag b) "
         "AND c.pid = ANY (SELECT id FROM t_pk WHERE v > 0)"},
        {"all_ops", "<> ALL correlated and < ALL uncorrelated",
         "SELECT k.a, k.b, k.x FROM t_kv k WHERE k.x <> ALL (SELECT p.n FROM t_pk p WHERE p.g = k.g) "
         "AND k.g < ALL (SELECT c.k FROM t_fk c WHERE c.pid IS NOT NULL)"},
        {"not_in_groups", "aggregates grouped over a row NOT IN",
         "SELECT b.g, count(*) AS cnt, sum(b.n) AS sum_n, max(b.s) AS max_s FROM t_bag b "
         "WHERE (b.g, b.n) NOT IN (SELECT k.a, k.x FROM t_kv k WHERE k.g = 1) GROUP BY b.g"},
        {"from_subquery", "subquery in FROM with WHERE inside and outside",
         "SELECT q.g, q.n1, q.s FROM (SELECT g, n + 1 AS n1, s FROM t_bag WHERE v IS NOT NULL) q "
         "WHERE q.n1 > 1"},
        {"nested_subquery_join", "nested subqueries in FROM joined to a table",
         "SELECT q.id, q.g, k.b FROM (SELECT id, g, n FROM (SELECT id, g, n, v FROM t_pk "
         "WHERE v > 0) r WHERE n IS NOT NULL) q JOIN t_kv k ON q.n = k.x AND q.g = k.a"},
        {"left_subquery", "subquery in FROM on the nullable side of a LEFT JOIN",
         "SELECT b.rid, q.b, q.x FROM t_bag b "
         "LEFT JOIN (SELECT a, b, x FROM t_kv WHERE g <> 1) q ON b.g = q.a AND b.n = q.x"},
        {"expr_left_groups", "expressions over aggregates grouped over a LEFT JOIN",
         "SELECT p.g, count(c.cid) * 10 + coalesce(max(c.w), 0) AS score, "
         "p.g || ':' || count(*) AS label, max(c.k) - min(c.k) AS spread FROM t_pk p "
         "LEFT JOIN t_fk c ON c.pid = p.id GROUP BY p.g"},
        {"filter_left_groups", "FILTER on every aggregate, grouped over a LEFT JOIN",
         "SELECT p.n, count(*) FILTER (WHERE c.w > 0) AS cnt_w, count(c.s) FILTER (WHERE p.g < 3) AS cnt_s, "
         "sum(c.w) FILTER (WHERE c.k IS NOT NULL) AS sum_w, avg(p.v) FILTER (WHERE c.cid IS NULL) AS avg_v, "
         "min(c.s) FILTER (WHERE c.w <> 1) AS min_s, max(c.k) FILTER (WHERE p.f > 0) AS max_k "
         "FROM t_pk p LEFT JOIN t_fk c ON c.pid = p.id GROUP BY p.n"},
        {"numeric_left_groups", "sum/avg of numeric with mixed scales over a LEFT JOIN (display scale)",
         "SELECT k.g, sum(p.v) AS sum_v, avg(p.v * 2) AS avg_v2, sum(p.v) - count(p.id) AS net "
         "FROM t_kv k LEFT JOIN t_pk p ON p.n = k.x GROUP BY k.g"},
        {"list_left_groups",
         "string_agg/array_agg/jsonb_agg, bit_xor, stddev and a float variance grouped over a LEFT JOIN",
         "SELECT p.g, string_agg(c.s, ',' ORDER BY c.cid) AS ss, array_agg(c.w ORDER BY c.cid) AS ws, "
         "jsonb_agg(c.cid ORDER BY c.cid) FILTER (WHERE c.w > 0) AS cids, bit_xor(c.k) AS xk, stddev(c.w) AS sd_w, "
         "var_samp(p.f) AS vs_f FROM t_pk p LEFT JOIN t_fk c ON c.pid = p.id GROUP BY p.g"},
        {"cte_twice", "WITH query referenced twice, LEFT JOIN of it with itself",
         "WITH c AS (SELECT a, x, b FROM t_kv WHERE g <> 2) "
         "SELECT c1.a, c1.b, c2.b AS b2 FROM c c1 LEFT JOIN c c2 ON c1.x = c2.a AND c1.b < c2.b"},
        // Functions in FROM over constants: relations that never change,
        // read in full by every delta term.
        {"series_groups", "a table cross a constant generate_series, grouped, with min/max",
         "SELECT p.g, i, count(*) AS cnt, sum(p.v) AS sum_v, max(p.n) AS max_n, min(p.s) AS min_s "
         "FROM t_pk p, generate_series(1, 3) i WHERE p.n IS NULL OR p.n >= i GROUP BY p.g, i"},
        {"unnest_bag", "a bag table joined to unnest WITH ORDINALITY of a constant array with duplicates",
         "SELECT b.rid, b.g, u.x, u.o FROM t_bag b "
         "JOIN unnest('{0,1,1,2,NULL}'::int[]) WITH ORDINALITY AS u(x, o) ON b.n = u.x"},
        {"series_left", "a constant generate_series LEFT JOIN a table, grouped (the function preserved)",
         "SELECT s.i, count(k.b) AS cnt_b, sum(k.x) AS sum_x, max(k.t) AS max_t "
         "FROM generate_series(0, 4) AS s(i) LEFT JOIN t_kv k ON k.x = s.i GROUP BY s.i"},
        {"left_rows_from", "a table LEFT JOIN ROWS FROM of two constant functions (the function nullable)",
         "SELECT c.cid, c.k, r.a, r.b FROM t_fk c "
         "LEFT JOIN ROWS FROM (generate_series(1, 3), unnest('{x,y}'::text[])) AS r(a, b) ON r.a = c.k"},
        {"full_series_distinct", "DISTINCT over a table FULL JOIN a constant generate_series",
         "SELECT DISTINCT k.g, s.i FROM t_kv k FULL JOIN generate_series(1, 4) AS s(i) ON k.g = s.i"},
        {"series_exists", "EXISTS over a constant unnest and NOT EXISTS over a table, a function joined too",
         "SELECT p.id, p.n, i FROM t_pk p, generate_series(1, 2) i "
         "WHERE EXISTS (SELECT 1 FROM unnest('{1,2,3}'::int[]) u WHERE u = p.n) "
         "AND NOT EXISTS (SELECT 1 FROM t_fk c WHERE c.pid = p.id AND c.w = i)"},
        {"series_totals", "aggregates without GROUP BY over a join of two tables and a constant function",
         "SELECT count(*) AS cnt, sum(c.w * i) AS weighted, min(p.v) AS min_v, max(c.k + i) AS max_k "
         "FROM t_fk c JOIN t_pk p ON c.pid = p.id, generate_series(1, 2) i"},
        // Set operations: a UNION ALL of bags, a tree of UNIONs, and trees
        // kept as counts per operand (with an ALL at the root: rows output
        // several times).
        {"union_all", "UNION ALL of three tables, one table twice, NULLs and duplicates",
         "SELECT g, n FROM t_bag UNION ALL SELECT g, n FROM t_pk WHERE v > 0 UNION ALL SELECT g, n FROM t_pk"},
        {"union_types", "UNION of three tables and a constant, integer and numeric unified",
         "SELECT g, s FROM t_pk WHERE f >= 0 UNION SELECT n, s FROM t_bag UNION SELECT x, t FROM t_kv "
         "UNION SELECT 1.5, 'const'"},
        {"intersect_all", "INTERSECT ALL of a table with duplicates and a keyed table",
         "SELECT g, n FROM t_bag INTERSECT ALL SELECT g, n FROM t_pk"},
        {"except_all", "EXCEPT ALL and EXCEPT of three tables (EXCEPT ALL at the root)",
         "SELECT n FROM t_bag EXCEPT ALL (SELECT x FROM t_kv EXCEPT SELECT w FROM t_fk)"},
        {"set_tree", "a DISTINCT operand, INTERSECT binding tighter, EXCEPT at the root",
         "SELECT g FROM t_pk UNION ALL SELECT DISTINCT g FROM t_bag EXCEPT SELECT k FROM t_fk "
         "INTERSECT ALL SELECT a FROM t_kv"},
        {"union_all_from", "a grouped query over a UNION ALL in FROM, min/max, one operand's rows filtered",
         "SELECT u.g, count(*) AS cnt, sum(u.n) AS sum_n, max(u.n) AS max_n, min(u.s) AS min_s "
         "FROM (SELECT g, n, s FROM t_bag UNION ALL SELECT g, n, s FROM t_pk WHERE v > 0) u WHERE u.g IS NOT NULL "
         "GROUP BY u.g"},
        {"set_joins", "EXCEPT ALL of a LEFT JOIN and a join with NOT EXISTS",
         "SELECT p.g, c.w FROM t_pk p LEFT JOIN t_fk c ON c.pid = p.id EXCEPT ALL "
         "SELECT b.g, k.x FROM t_bag b JOIN t_kv k ON k.a = b.n WHERE NOT EXISTS (SELECT 1 FROM t_fk f WHERE f.k = "
         "b.g)"},
        // GROUPING SETS, ROLLUP and CUBE: one grouped view over the set
        // numbers; the groups of () exist over no row too.
        {"rollup_groups", "ROLLUP over nullable keys with GROUPING(), min/max, count(DISTINCT), an expression",
         "SELECT g, n, count(*) AS cnt, sum(v) AS sum_v, min(f) AS min_f, max(s) AS max_s, count(DISTINCT s) AS ds, "
         "GROUPING(g, n) AS gr, coalesce(g, -1) * 100 + count(*) AS e FROM t_bag GROUP BY ROLLUP (g, n)"},
        {"cube_having", "CUBE with HAVING over an aggregate and GROUPING()",
         "SELECT g, n, sum(v) AS sum_v, max(id) AS max_id FROM t_pk GROUP BY CUBE (g, n) "
         "HAVING count(*) > 1 OR GROUPING(g) = 1"},
        {"sets_left", "GROUPING SETS with () and a duplicate set over a LEFT JOIN",
         "SELECT p.g, c.k, count(c.cid) AS cnt, sum(c.w) AS sum_w, min(p.v) AS min_v "
         "FROM t_pk p LEFT JOIN t_fk c ON c.pid = p.id GROUP BY GROUPING SETS ((p.g), (p.g), (c.k), ())"},
        {"rollup_join", "a plain key and ROLLUP over an inner join, with min/max",
         "SELECT b.g, k.a, k.x, count(*) AS cnt, sum(k.x) AS sum_x, min(b.f) AS min_f, max(k.t) AS max_t "
         "FROM t_bag b JOIN t_kv k ON b.g = k.a GROUP BY b.g, ROLLUP (k.a, k.x)"},
    };
    return shapes;
}

std::vector<View> AllViews() {
    std::vector<View> views = {
        {"mv_pk_groups", "GROUP BY a nullable key, every aggregate over nullable inputs",
         "SELECT n, g, count(*) AS cnt, count(v) AS cnt_v, sum(v) AS sum_v, avg(v) AS avg_v, "
         "min(v) AS min_v, max(v) AS max_v, sum(f) AS sum_f, avg(f) AS avg_f, min(id) AS min_id, "
         "max(id) AS max_id FROM t_pk GROUP BY n, g"},
        {"mv_bag_groups", "GROUP BY a nullable key of a table without primary key",
         "SELECT g, count(*) AS cnt, count(n) AS cnt_n, sum(n) AS sum_n, avg(n) AS avg_n, "
         "min(n) AS min_n, max(n) AS max_n, sum(f) AS sum_f, min(f) AS min_f, max(f) AS max_f, "
         "count(s) AS cnt_s FROM t_bag GROUP BY g"},
        {"mv_distinct", "DISTINCT over nullable columns", "SELECT DISTINCT g, n FROM t_bag"},
        {"mv_distinct_expr", "DISTINCT over an expression, with WHERE",
         "SELECT DISTINCT s, g % 2 AS parity FROM t_pk WHERE v IS NOT NULL"},
        {"mv_bag_proj", "bag projection with WHERE and expressions (duplicates)",
         "SELECT g, n + 1 AS n1, v * 2 AS v2, coalesce(s, '?') || '!' AS s2 FROM t_bag "
         "WHERE n IS NULL OR n < 3"},
        {"mv_pk_proj", "projection selecting the primary key",
         "SELECT id, g, s, v FROM t_pk WHERE f IS NULL OR f >= 0"},
        {"mv_kv_proj", "projection selecting a composite primary key, reordered",
         "SELECT b, x, a, t FROM t_kv WHERE x IS DISTINCT FROM 2"},
        {"mv_pk_totals", "aggregates without GROUP BY, incl. min/max",
         "SELECT count(*) AS cnt, count(n) AS cnt_n, sum(v) AS sum_v, avg(n) AS avg_n, "
         "min(n) AS min_n, max(n) AS max_n, min(f) AS min_f, max(f) AS max_f, min(s) AS min_s, "
         "max(s) AS max_s FROM t_pk"},
        {"mv_bag_totals", "aggregates without GROUP BY over a filter that may match nothing",
         "SELECT count(*) AS cnt, sum(f) AS sum_f, avg(f) AS avg_f, min(v) AS min_v, "
         "max(v) AS max_v, avg(v) AS avg_v FROM t_bag WHERE g = 1"},
        {"mv_hidden_keys", "GROUP BY expressions that are not in the select list",
         "SELECT sum(v) AS sum_v, count(*) AS cnt, max(n) AS max_n FROM t_bag "
         "GROUP BY g % 2, n IS NULL"},
        {"mv_expr_key", "GROUP BY an expression that is selected",
         "SELECT coalesce(n, -1) AS n_key, count(*) AS cnt, sum(f) AS sum_f, min(s) AS min_s "
         "FROM t_pk GROUP BY coalesce(n, -1)"},
        {"mv_text_minmax", "min/max over text",
         "SELECT g, min(s) AS min_s, max(s) AS max_s, count(s) AS cnt_s, min(t) AS min_t, "
         "max(t) AS max_t FROM t_kv GROUP BY g"},
        {"mv_join_groups", "inner join of two tables, grouped, with count/sum/min/max",
         "SELECT b.g, count(*) AS cnt, count(k.x) AS cnt_x, sum(k.x) AS sum_x, min(b.f) AS min_f, "
         "max(k.t) AS max_t FROM t_bag b JOIN t_kv k ON b.g = k.a GROUP BY b.g"},
        {"mv_join_bag", "inner join of two tables, bag projection with duplicates",
         "SELECT b.s, k.t, b.n FROM t_bag b JOIN t_kv k ON b.n = k.x WHERE k.g <> 1"},
        {"mv_key_join", "join on keys in a FROM list, selecting both primary keys",
         "SELECT p.id, k.a, k.b, p.s FROM t_pk p, t_kv k WHERE p.id = k.b"},
        {"mv_self_join", "self-join, grouped, with min/max",
         "SELECT p.g, count(*) AS pairs, sum(q.v) AS sum_v, min(q.v) AS min_v, max(p.s) AS max_s "
         "FROM t_pk p JOIN t_pk q ON p.g = q.g AND p.n = q.n GROUP BY p.g"},

        {"mv_expr_groups", "expressions over aggregates and group keys, hidden aggregates",
         "SELECT g, sum(n) + 1 AS s1, coalesce(max(f), -1) - coalesce(min(f), 0) AS spread, "
         "g || ':' || count(*) AS label, CASE WHEN count(*) > 2 THEN 'big' ELSE 'small' END AS size, "
         "round(avg(n), 2) AS avg2, sum(n) AS sum_n FROM t_bag GROUP BY g"},
        {"mv_filter_groups", "FILTER on every aggregate, also inside expressions",
         "SELECT g, count(*) FILTER (WHERE n > 1) AS cnt_big, count(s) FILTER (WHERE f >= 0) AS cnt_s, "
         "sum(n) FILTER (WHERE s IS NOT NULL) AS sum_n, avg(f) FILTER (WHERE n IS NULL) AS avg_f, "
         "min(f) FILTER (WHERE n <> 2) AS min_f, max(n) FILTER (WHERE f < 1) AS max_n, "
         "coalesce(max(s) FILTER (WHERE n = 0), '-') || count(*) AS tag FROM t_bag GROUP BY g"},
        {"mv_filter_totals", "FILTER on aggregates without GROUP BY",
         "SELECT count(*) FILTER (WHERE g = 1) AS cnt_g1, sum(n) FILTER (WHERE v > 0) AS sum_n, "
         "min(s) FILTER (WHERE n > 2) AS min_s, max(id) FILTER (WHERE f IS NULL) AS max_id FROM t_pk"},
        {"mv_bool_groups", "bool_and/bool_or/every, with FILTER and in expressions",
         "SELECT n, bool_and(v > 0) AS all_pos, bool_or(s IS NULL) AS any_null_s, every(f >= 0) AS all_f, "
         "bool_or(g = 1) FILTER (WHERE v IS NOT NULL) AS g1_v, "
         "CASE WHEN bool_and(g < 3) THEN 'low' ELSE 'mixed' END AS band FROM t_pk GROUP BY n"},
        {"mv_var_groups", "var_pop/var_samp/variance over integers and numeric, with FILTER and in expressions",
         "SELECT g, var_pop(n) AS vp_n, var_samp(id) AS vs_id, variance(n) FILTER (WHERE v > 0) AS v_n, "
         "var_pop(v) AS vp_v, "
         "coalesce(var_pop(id), 0) + count(*) AS e FROM t_pk GROUP BY g"},
        {"mv_bit_groups", "bit_and/bit_or, with FILTER and in expressions",
         "SELECT n, bit_and(g) AS and_g, bit_or(g) AS or_g, bit_or(id) FILTER (WHERE v > 0) AS or_id, "
         "coalesce(bit_and(id), 0) + count(*) AS e FROM t_pk GROUP BY n"},
        {"mv_having_groups", "HAVING over aggregates in and out of the select list, min/max, hidden key",
         "SELECT n, sum(v) AS sum_v, max(f) AS max_f FROM t_pk GROUP BY n, g "
         "HAVING count(*) > 1 AND coalesce(min(id), 0) < 40 OR g = 1"},
        {"mv_having_totals", "HAVING without GROUP BY: one row or none",
         "SELECT count(*) AS cnt, sum(n) AS sum_n FROM t_bag HAVING sum(n) > 5"},
        {"mv_distinct_groups", "count/sum/avg(DISTINCT), with FILTER, in expressions and HAVING",
         "SELECT g, count(DISTINCT n) AS dn, sum(DISTINCT n) AS sn, avg(DISTINCT v) AS av, "
         "count(DISTINCT s) FILTER (WHERE f >= 0) AS ds, count(DISTINCT n) * 10 + count(*) AS e "
         "FROM t_bag GROUP BY g HAVING count(DISTINCT s) >= 1"},
        {"mv_distinct_left", "count(DISTINCT) over a LEFT JOIN, without GROUP BY",
         "SELECT count(DISTINCT c.w) AS dw, count(DISTINCT p.g) AS dg, sum(DISTINCT c.k) AS sk "
         "FROM t_pk p LEFT JOIN t_fk c ON c.pid = p.id"},
        {"mv_list_groups", "string_agg/array_agg/json_agg/jsonb_agg/jsonb_object_agg, ORDER BY, FILTER, expressions",
         "SELECT g, string_agg(s, ',' ORDER BY id) AS ss, array_agg(n ORDER BY id) AS ns, "
         "json_agg(v ORDER BY id)::text AS jv, jsonb_agg(f ORDER BY id) FILTER (WHERE n > 1) AS jf, "
         "jsonb_object_agg(id, s ORDER BY id) AS obj, coalesce(string_agg(s, '' ORDER BY s, id), '-') AS e, "
         "string_agg(s, ',') AS unordered FROM t_pk GROUP BY g"},
        {"mv_list_totals", "string_agg/array_agg without GROUP BY over a table without key, one without ORDER BY",
         "SELECT string_agg(s, '|' ORDER BY rid, s) AS ss, array_agg(n ORDER BY n, rid) AS ns, array_agg(g) AS gs "
         "FROM t_bag WHERE n IS DISTINCT FROM 3"},
        {"mv_xor_sd_groups", "bit_xor, stddev over integers and numeric, variances over floats, FILTER, expressions",
         "SELECT n, bit_xor(g) AS x_g, bit_xor(id) FILTER (WHERE v > 0) AS x_id, stddev(id) AS sd_id, "
         "stddev_pop(v) AS sp_v, stddev_samp(g) FILTER (WHERE f >= 0) AS ss_g, var_pop(f) AS vp_f, "
         "stddev(f) AS sd_f, coalesce(stddev_pop(id), 0) * 2 AS e FROM t_pk GROUP BY n"},
        {"mv_expr_totals", "expressions over aggregates without GROUP BY",
         "SELECT count(*) * 2 AS c2, coalesce(max(n), -1) + coalesce(min(n), 0) AS mm, "
         "sum(n) / nullif(count(n), 0) AS per, max(s) || '/' || min(s) AS s_range FROM t_pk"},

        // Deferred twins of immediate shapes: maintained from the delta log by
        // ivmx.flush and the background scheduler instead of in the writer.
        {"dmv_pk_groups", "deferred: GROUP BY with every aggregate, incl. min/max",
         "SELECT n, g, count(*) AS cnt, count(v) AS cnt_v, sum(v) AS sum_v, avg(v) AS avg_v, "
         "min(v) AS min_v, max(v) AS max_v, sum(f) AS sum_f, min(id) AS min_id, "
         "max(id) AS max_id FROM t_pk GROUP BY n, g",
         true},
        {"dmv_bag_groups", "deferred: GROUP BY over a table without primary key, min/max",
         "SELECT g, count(*) AS cnt, sum(n) AS sum_n, min(n) AS min_n, max(n) AS max_n, "
         "min(f) AS min_f, max(s) AS max_s FROM t_bag GROUP BY g",
         true},
        {"dmv_distinct", "deferred: DISTINCT over nullable columns", "SELECT DISTINCT g, n FROM t_bag", true},
        {"dmv_bag_proj", "deferred: bag projection without primary key (duplicates)",
         "SELECT g, n + 1 AS n1, v * 2 AS v2, coalesce(s, '?') || '!' AS s2 FROM t_bag "
         "WHERE n IS NULL OR n < 3",
         true},
        {"dmv_pk_proj", "deferred: projection selecting the primary key",
         "SELECT id, g, s, v FROM t_pk WHERE f IS NULL OR f >= 0", true},
        {"dmv_pk_totals", "deferred: aggregates without GROUP BY, incl. min/max",
         "SELECT count(*) AS cnt, sum(v) AS sum_v, min(n) AS min_n, max(n) AS max_n, "
         "min(s) AS min_s, max(s) AS max_s FROM t_pk",
         true},
        {"dmv_expr_groups", "deferred: expressions over aggregates and group keys",
         "SELECT g, sum(n) + 1 AS s1, coalesce(max(f), -1) - coalesce(min(f), 0) AS spread, "
         "g || ':' || count(*) AS label, round(avg(n), 2) AS avg2 FROM t_bag GROUP BY g",
         true},
        {"dmv_filter_groups", "deferred: FILTER on every aggregate",
         "SELECT g, count(*) FILTER (WHERE n > 1) AS cnt_big, sum(n) FILTER (WHERE s IS NOT NULL) AS sum_n, "
         "avg(f) FILTER (WHERE n IS NULL) AS avg_f, min(f) FILTER (WHERE n <> 2) AS min_f, "
         "max(n) FILTER (WHERE f < 1) AS max_n FROM t_bag GROUP BY g",
         true},
        {"dmv_bool_totals", "deferred: bool_and/bool_or without GROUP BY",
         "SELECT bool_and(n < 3) AS all_small, bool_or(f < 0) AS any_neg, every(s <> '') AS all_s FROM t_bag", true},
        {"dmv_var_totals", "deferred: var_pop/var_samp without GROUP BY, over integers and numeric",
         "SELECT var_pop(n) AS vp_n, var_samp(g) FILTER (WHERE f >= 0) AS vs_g, variance(v) AS v_v FROM t_bag", true},
        {"dmv_bit_totals", "deferred: bit_and/bit_or without GROUP BY",
         "SELECT bit_and(n) AS and_n, bit_or(g) FILTER (WHERE f >= 0) AS or_g FROM t_bag", true},
        {"dmv_expr_totals", "deferred: expressions over aggregates without GROUP BY",
         "SELECT count(*) * 2 AS c2, coalesce(max(n), -1) + coalesce(min(n), 0) AS mm, "
         "sum(n) / nullif(count(n), 0) AS per FROM t_pk",
         true},
        {"dmv_having_distinct", "deferred: HAVING with count(DISTINCT) and an expression",
         "SELECT n, count(DISTINCT g) AS dg, sum(v) / nullif(count(*), 0) AS per FROM t_pk GROUP BY n "
         "HAVING sum(v) > 0 OR count(DISTINCT g) > 1",
         true},
        {"dmv_distinct_totals", "deferred: DISTINCT aggregates without GROUP BY",
         "SELECT count(DISTINCT g) AS dg, sum(DISTINCT n) AS sn, avg(DISTINCT n) AS an FROM t_bag", true},
        {"dmv_list_groups", "deferred: string_agg/array_agg/jsonb_agg over a table without key",
         "SELECT g, string_agg(s, ',' ORDER BY rid, s) AS ss, array_agg(n ORDER BY rid, n) AS ns, "
         "jsonb_agg(f ORDER BY rid, f) FILTER (WHERE n > 0) AS jf, array_agg(rid) AS unordered, "
         "coalesce(string_agg(s, '' ORDER BY s), '') || count(*) AS e FROM t_bag GROUP BY g",
         true},
        {"dmv_xor_sd_totals", "deferred: bit_xor, stddev, a float variance, jsonb_object_agg without GROUP BY",
         "SELECT bit_xor(n) AS x_n, stddev(n) AS sd_n, stddev_pop(v) AS sp_v, var_samp(f) AS vs_f, "
         "jsonb_object_agg(rid, g ORDER BY rid, g) FILTER (WHERE g IS NOT NULL) AS obj FROM t_bag",
         true},
        {"dmv_join_groups", "deferred: inner join of two tables, grouped, with min/max",
         "SELECT b.g, count(*) AS cnt, sum(k.x) AS sum_x, min(b.f) AS min_f, max(k.t) AS max_t "
         "FROM t_bag b JOIN t_kv k ON b.g = k.a GROUP BY b.g",
         true},

        // Nested IMMVs. Chain A, immediate -> deferred -> immediate: a join,
        // an aggregate over it, a filter over the aggregate.
        {"nest_a1", "nested A1 (immediate): join of two tables",
         "SELECT p.id, p.g, k.b, k.x, p.v, k.s FROM t_pk p JOIN t_kv k ON p.n = k.x AND p.g = k.a"},
        {"nest_a2",
         "nested A2 (deferred): aggregate over the IMMV nest_a1",
         "SELECT g, x, count(*) AS cnt, sum(v) AS sum_v, min(v) AS min_v, max(b) AS max_b "
         "FROM nest_a1 GROUP BY g, x",
         true,
         {"nest_a1"}},
        {"nest_a3",
         "nested A3 (immediate): filter over the aggregate IMMV nest_a2",
         "SELECT g, x, cnt, sum_v, min_v FROM nest_a2 WHERE cnt > 1",
         false,
         {"nest_a2"}},
        {"nest_a_expr",
         "nested (immediate): expressions over aggregates of the deferred IMMV nest_a2",
         "SELECT x, sum(cnt) + 1 AS cnt1, coalesce(max(max_b), 0) - coalesce(min(min_v), 0) AS spread, "
         "CASE WHEN count(*) > 1 THEN 'many' ELSE 'one' END AS size FROM nest_a2 GROUP BY x",
         false,
         {"nest_a2"}},
        {"nest_a_list",
         "nested (deferred): string_agg, stddev and bit_xor over the immediate IMMV nest_a1",
         "SELECT g, string_agg(b::text, ',' ORDER BY b, id) AS bs, stddev(x) AS sd_x, bit_xor(id) AS xi, "
         "array_agg(s ORDER BY id, b) AS ss FROM nest_a1 GROUP BY g",
         true,
         {"nest_a1"}},
        {"nest_a_set",
         "nested (immediate): EXCEPT ALL of the immediate IMMV nest_a1 and a table",
         "SELECT g, x FROM nest_a1 EXCEPT ALL SELECT g, n FROM t_pk",
         false,
         {"nest_a1"}},
        {"nest_a_union",
         "nested (deferred): UNION of the deferred IMMV nest_a2 and a table",
         "SELECT g, x FROM nest_a2 UNION SELECT g, n FROM t_bag",
         true,
         {"nest_a2"}},
        // Chain B, deferred -> immediate -> deferred, over a table without key.
        {"nest_b1", "nested B1 (deferred): join of a bag table and a keyed table",
         "SELECT b.rid, b.g, b.n, b.f, k.t FROM t_bag b JOIN t_kv k ON b.n = k.x AND b.g = k.g", true},
        {"nest_b2",
         "nested B2 (immediate): aggregate over the deferred IMMV nest_b1",
         "SELECT g, count(*) AS cnt, sum(f) AS sum_f, max(t) AS max_t, min(n) AS min_n "
         "FROM nest_b1 GROUP BY g",
         false,
         {"nest_b1"}},
        {"nest_b3",
         "nested B3 (deferred): filter over the aggregate IMMV nest_b2",
         "SELECT g, cnt, max_t FROM nest_b2 WHERE cnt >= 2",
         true,
         {"nest_b2"}},
        // Chain C: a deferred IMMV on either side of a LEFT JOIN with a table.
        // nest_c1 lags behind t_fk, so its rows may reference t_pk rows that
        // are gone (dangling, NULL-extended rows of nest_c2).
        {"nest_c1", "nested C1 (deferred): filtered projection of t_fk, keyed",
         "SELECT cid, pid, k, w FROM t_fk WHERE w IS DISTINCT FROM 2", true},
        {"nest_c2",
         "nested C2 (deferred): the IMMV nest_c1 LEFT JOIN t_pk",
         "SELECT c.cid, c.w, p.id, p.g, p.v FROM nest_c1 c LEFT JOIN t_pk p ON p.id = c.pid",
         true,
         {"nest_c1"}},
        {"nest_c3",
         "nested C3 (immediate): t_pk LEFT JOIN the IMMV nest_c1, grouped",
         "SELECT p.g, count(*) AS cnt, count(c.cid) AS cnt_c, sum(c.w) AS sum_w, "
         "max(c.k) AS max_k FROM t_pk p LEFT JOIN nest_c1 c ON c.pid = p.id GROUP BY p.g",
         false,
         {"nest_c1"}},
        // Grouping sets over and under nested IMMVs.
        {"nest_rollup",
         "nested (immediate): ROLLUP over the deferred IMMV nest_a2",
         "SELECT g, x, sum(cnt) AS cnt, min(min_v) AS min_v, GROUPING(g, x) AS gr FROM nest_a2 GROUP BY ROLLUP (g, x)",
         false,
         {"nest_a2"}},
        {"nest_over_rollup",
         "nested (deferred): aggregate over the ROLLUP IMMV nest_rollup",
         "SELECT gr, count(*) AS groups, sum(cnt) AS cnt, max(min_v) AS max_min_v FROM nest_rollup GROUP BY gr",
         true,
         {"nest_rollup"}},
        // A diamond: IMMVs joining t_pk with an immediate IMMV over t_pk, so
        // one statement changes both inputs of the join.
        {"dia_base", "diamond base (immediate): filtered projection of t_pk",
         "SELECT id, g, n, v FROM t_pk WHERE s IS NOT NULL"},
        {"dia_top",
         "diamond top (immediate): t_pk joined with its IMMV dia_base",
         "SELECT p.g, count(*) AS cnt, sum(d.v) AS sum_v, max(d.n) AS max_n "
         "FROM t_pk p JOIN dia_base d ON p.id = d.id GROUP BY p.g",
         false,
         {"dia_base"}},
        {"dia_top_d",
         "diamond top (deferred): t_pk joined with its IMMV dia_base, grouped",
         "SELECT p.n, d.g, count(*) AS cnt, min(p.f) AS min_f, max(d.v) AS max_v "
         "FROM t_pk p JOIN dia_base d ON p.g = d.g AND p.n = d.n GROUP BY p.n, d.g",
         true,
         {"dia_base"}},
    };
    for (const TwinShape& twin : TwinShapes()) {
        views.push_back({"mv_" + twin.suffix, twin.shape, twin.query});
        views.push_back({"dmv_" + twin.suffix, "deferred: " + twin.shape, twin.query, true});
    }
    return views;
}

}  // namespace

const std::vector<View>& Views() {
    static const std::vector<View> views = AllViews();
    return views;
}

std::string View::CreateSql() const {
    return "SELECT ivmx.create_immv(" + Quote(name) + ", " + Quote(query) + (deferred ? ", mode => 'deferred'" : "") +
           ")";
}

const View& ViewNamed(const std::string& name) {
    for (const View& v : Views())
        if (v.name == name) return v;
    throw std::logic_error("no IMMV " + name);
}

std::vector<const View*> ViewAndUpstream(const View& view) {
    std::vector<const View*> out = {&view};
    for (size_t i = 0; i < out.size(); ++i)
        for (const std::string& read : out[i]->reads) {
            const View* upstream = &ViewNamed(read);
            bool seen = false;
            for (const View* v : out) seen = seen || v == upstream;
            if (!seen) out.push_back(upstream);
        }
    return out;
}

bool IsNested(const View& view) {
    if (!view.reads.empty()) return true;
    for (const View& other : Views())
        for (const std::string& read : other.reads)
            if (read == view.name) return true;
    return false;
}

std::vector<std::pair<const View*, const View*>> NestedLinks() {
    std::vector<std::pair<const View*, const View*>> links;
    for (const View& view : Views())
        for (const std::string& read : view.reads) links.emplace_back(&ViewNamed(read), &view);
    return links;
}

std::vector<const View*> SwitchableViews() {
    std::vector<const View*> out;
    for (const View& view : Views())
        if (view.deferred || IsNested(view)) out.push_back(&view);
    return out;
}

}  // namespace stress
