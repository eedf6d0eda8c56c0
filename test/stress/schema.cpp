// The stress test's tables and IMMVs (see schema.hpp).
#include "schema.hpp"

#include <stdexcept>

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
    }
    if (!primary_key.empty()) {
        sql += ", PRIMARY KEY (";
        for (size_t i = 0; i < primary_key.size(); ++i) sql += (i > 0 ? ", " : "") + primary_key[i];
        sql += ")";
    }
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
         "rid"},
        {"t_kv",
         {{"a", "integer", ValueKind::Small, false, 4},
          {"b", "integer", ValueKind::Key, false},
          {"g", "integer", ValueKind::Small, false, 3},
          {"x", "integer", ValueKind::Small, true, 5},
          {"s", "text", ValueKind::Text, true},
          {"t", "text", ValueKind::Text, false}},
         {"a", "b"},
         "b"},
    };
    return tables;
}

const Table& TableNamed(const std::string& name) {
    for (const Table& t : Tables())
        if (t.name == name) return t;
    throw std::logic_error("no table " + name);
}

const std::vector<View>& Views() {
    static const std::vector<View> views = {
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
    };
    return views;
}

}  // namespace stress
