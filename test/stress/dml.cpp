// Random data-changing statements (see dml.hpp).
#include "dml.hpp"

namespace stress {

namespace {

std::string Join(const std::vector<std::string>& items, const std::string& separator) {
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) out += (i > 0 ? separator : "") + items[i];
    return out;
}

bool IsKeyColumn(const Table& table, const Column& column) {
    for (const std::string& key : table.primary_key)
        if (key == column.name) return true;
    return false;
}

}  // namespace

std::string Statement::Script() const {
    if (!IsCopy()) return sql + ";";
    return sql + ";\n" + Join(copy_rows, "\n") + "\n\\.";
}

DmlGenerator::DmlGenerator(Rng& rng, int stream, int streams, DmlWeights weights)
    : rng_(rng), keys_(rng, stream, streams), values_(rng, keys_), weights_(weights) {}

Statement DmlGenerator::Next() {
    if (rng_.Below(1000) < weights_.truncate_per_mille) return Truncate();
    const Table& table = rng_.Pick(Tables());
    const DmlWeights& w = weights_;
    switch (rng_.Weighted({w.insert_one, w.insert_many, w.insert_select, w.update_one, w.update_many, w.delete_one,
                           w.delete_many, w.upsert, w.copy, w.writable_cte})) {
        case 0:
            return Insert(table, 1);
        case 1:
            return Insert(table, rng_.Between(2, 8));
        case 2:
            return InsertSelect(table);
        case 3:
            return Update(table, true);
        case 4:
            return Update(table, false);
        case 5:
            return Delete(table, true);
        case 6:
            return Delete(table, false);
        case 7:
            return Upsert(table);
        case 8:
            return Copy(table);
        default:
            return WritableCte(table);
    }
}

std::string DmlGenerator::RowValues(const Table& table) {
    std::vector<std::string> values;
    for (const Column& c : table.columns) values.push_back(values_.Literal(table, c));
    return "(" + Join(values, ", ") + ")";
}

// A bag table gets exact duplicate rows now and then.
Statement DmlGenerator::Insert(const Table& table, int rows) {
    std::vector<std::string> tuples;
    for (int i = 0; i < rows; ++i) {
        if (!tuples.empty() && table.primary_key.empty() && rng_.Percent(25))
            tuples.push_back(tuples.back());
        else
            tuples.push_back(RowValues(table));
    }
    return {"INSERT INTO " + table.name + " (" + table.ColumnList() + ") VALUES " + Join(tuples, ", ")};
}

// Select-list re-creating rows of `table` from a row source with the same
// column names: key columns get fresh values numbered by `ordinal_sql` (at most
// `max_rows` of them) unless `ordinal_sql` is empty; one small column may move.
std::string DmlGenerator::MovedColumns(const Table& table, const std::string& ordinal_sql, int max_rows) {
    std::vector<std::string> items;
    bool moved = false;
    for (const Column& c : table.columns) {
        if (c.kind == ValueKind::Key && !ordinal_sql.empty() && !table.primary_key.empty()) {
            items.push_back(keys_.FreshRange(table, ordinal_sql, max_rows));
        } else if (c.kind == ValueKind::Small && !IsKeyColumn(table, c) && !moved && rng_.Percent(50)) {
            items.push_back("(" + c.name + " + 1) % " + std::to_string(c.domain));
            moved = true;
        } else {
            items.push_back(c.name);
        }
    }
    return Join(items, ", ");
}

Statement DmlGenerator::InsertSelect(const Table& table) {
    const int limit = rng_.Between(1, 5);
    const std::string order = table.ColumnList();
    return {"INSERT INTO " + table.name + " (" + table.ColumnList() + ") SELECT " +
            MovedColumns(table, "row_number() OVER (ORDER BY " + order + ")", limit) + " FROM " + table.name +
            " WHERE " + values_.Predicate(table) + " ORDER BY " + order + " LIMIT " + std::to_string(limit)};
}

Statement DmlGenerator::Update(const Table& table, bool single_row) {
    std::string where = single_row ? values_.RowPredicate(table) : values_.Predicate(table);
    if (!single_row && rng_.Percent(3)) where = "true";
    return {"UPDATE " + table.name + " SET " + values_.SetList(table, single_row) + " WHERE " + where};
}

Statement DmlGenerator::Delete(const Table& table, bool single_row) {
    std::string where = single_row ? values_.RowPredicate(table) : values_.NarrowPredicate(table);
    if (!single_row && rng_.Percent(1)) where = "true";
    // A partition's rows are its parent's too.
    const std::string& target =
        !table.partitions.empty() && rng_.Percent(30) ? rng_.Pick(table.partitions) : table.name;
    return {"DELETE FROM " + target + " WHERE " + where};
}

// A row for an upsert whose key (distinct from `used_keys`) is often an
// existing one, so that ON CONFLICT fires.
std::string DmlGenerator::KeyedRowValues(const Table& table, std::vector<std::string>& used_keys) {
    std::vector<std::string> values, key;
    for (const Column& c : table.columns) {
        std::string value = values_.Literal(table, c);
        if (c.kind == ValueKind::Key && rng_.Percent(60)) value = std::to_string(keys_.Existing(table));
        if (IsKeyColumn(table, c) && c.kind == ValueKind::Small) value = std::to_string(rng_.Below(c.domain));
        if (IsKeyColumn(table, c)) key.push_back(value);
        values.push_back(value);
    }
    const std::string key_text = Join(key, ",");
    for (const std::string& used : used_keys)
        if (used == key_text) return "";
    used_keys.push_back(key_text);
    return "(" + Join(values, ", ") + ")";
}

std::string DmlGenerator::ConflictAction(const Table& table) {
    const std::string target = "(" + Join(table.primary_key, ", ") + ")";
    if (rng_.Percent(30)) return " ON CONFLICT " + target + " DO NOTHING";
    std::vector<std::string> sets;
    for (const Column& c : table.columns)
        if (!IsKeyColumn(table, c) && rng_.Percent(50)) sets.push_back(c.name + " = " + values_.UpsertAssignment(c));
    if (sets.empty()) sets.push_back(table.columns.back().name + " = EXCLUDED." + table.columns.back().name);
    std::string action = " ON CONFLICT " + target + " DO UPDATE SET " + Join(sets, ", ");
    if (rng_.Percent(20)) {
        // A condition on the first small non-key column (g, or t_fk's k).
        for (const Column& c : table.columns)
            if (c.kind == ValueKind::Small && !IsKeyColumn(table, c)) {
                action += " WHERE t." + c.name + " <> EXCLUDED." + c.name;
                break;
            }
    }
    return action;
}

Statement DmlGenerator::Upsert(const Table& table) {
    if (table.primary_key.empty()) {
        Statement insert = Insert(table, rng_.Between(1, 4));
        insert.sql += " ON CONFLICT DO NOTHING";
        return insert;
    }
    std::vector<std::string> tuples, used_keys;
    const int rows = rng_.Between(1, 4);
    for (int i = 0; i < rows; ++i) {
        std::string tuple = KeyedRowValues(table, used_keys);
        if (!tuple.empty()) tuples.push_back(tuple);
    }
    return {"INSERT INTO " + table.name + " AS t (" + table.ColumnList() + ") VALUES " + Join(tuples, ", ") +
            ConflictAction(table)};
}

Statement DmlGenerator::Copy(const Table& table) {
    Statement copy{"COPY " + table.name + " (" + table.ColumnList() + ") FROM STDIN"};
    const int rows = rng_.Between(1, 8);
    for (int i = 0; i < rows; ++i) {
        std::vector<std::string> fields;
        for (const Column& c : table.columns) fields.push_back(values_.CopyField(table, c));
        copy.copy_rows.push_back(Join(fields, "\t"));
    }
    return copy;
}

// Statements that change `table` twice (or it and another table) in one query.
Statement DmlGenerator::WritableCte(const Table& table) {
    const std::string& name = table.name;
    const std::string columns = table.ColumnList();
    switch (rng_.Below(7)) {
        case 0:  // delete rows and put them back, changed, with the same keys
            return {"WITH moved AS (DELETE FROM " + name + " WHERE " + values_.Predicate(table) + " RETURNING " +
                    columns + ") INSERT INTO " + name + " (" + columns + ") SELECT " + MovedColumns(table, "", 0) +
                    " FROM moved"};
        case 1: {  // update rows and insert copies of their new versions
            const int limit = rng_.Between(1, 4);
            return {"WITH changed AS (UPDATE " + name + " SET " + values_.SetList(table, false) + " WHERE " +
                    values_.Predicate(table) + " RETURNING " + columns + ") INSERT INTO " + name + " (" + columns +
                    ") SELECT " + MovedColumns(table, "row_number() OVER (ORDER BY " + columns + ")", limit) +
                    " FROM changed ORDER BY " + columns + " LIMIT " + std::to_string(limit)};
        }
        case 2:  // two updates; a row both match is changed by one of them only
            return {"WITH first AS (UPDATE " + name + " SET " + values_.SetList(table, false) + " WHERE " +
                    values_.Predicate(table) + " RETURNING 1) UPDATE " + name + " SET " +
                    values_.SetList(table, false) + " WHERE " + values_.Predicate(table)};
        case 3:  // insert rows and delete others (the delete does not see the new rows)
            return {"WITH added AS (" + Insert(table, rng_.Between(1, 3)).sql + " RETURNING 1) DELETE FROM " + name +
                    " WHERE " + values_.Predicate(table)};
        case 4: {  // change t_pk rows and their children in t_fk
            const Table& pk = TableNamed("t_pk");
            return {"WITH up AS (UPDATE t_pk SET " + values_.SetList(pk, false) + " WHERE " + values_.Predicate(pk) +
                    " RETURNING id, g) UPDATE t_fk SET w = NULLIF((coalesce(w, 2) + 1) % 3, 2), "
                    "k = (SELECT g % 4 FROM up WHERE up.id = t_fk.pid) "
                    "WHERE pid IN (SELECT id FROM up)"};
        }
        case 5: {  // delete children in t_fk and move their parents to another group
            const Table& fk = TableNamed("t_fk");
            return {"WITH gone AS (DELETE FROM t_fk WHERE " + values_.Predicate(fk) +
                    " RETURNING pid, w) UPDATE t_pk SET n = (SELECT max(w) FROM gone "
                    "WHERE gone.pid = t_pk.id), g = (g + 1) % 5 WHERE id IN (SELECT pid FROM gone)"};
        }
        default: {  // move rows from t_bag into t_kv
            const Table& bag = TableNamed("t_bag");
            const Table& kv = TableNamed("t_kv");
            return {"WITH gone AS (DELETE FROM t_bag WHERE " + values_.Predicate(bag) +
                    " RETURNING g, n, s) INSERT INTO t_kv (a, b, g, x, s, t) SELECT coalesce(g, 0), " +
                    keys_.FreshRange(kv, "row_number() OVER (ORDER BY g, n, s)", 5) +
                    ", coalesce(n, 0) % 3, n, s, coalesce(s, 'none') FROM gone ORDER BY g, n, s LIMIT "
                    "5"};
        }
    }
}

Statement DmlGenerator::Truncate() {
    // t_pk only with t_fk, which references it.
    const std::vector<std::string> targets = {"t_pk, t_fk", "t_bag", "t_kv", "t_bag, t_kv", "t_fk"};
    return {"TRUNCATE " + rng_.Pick(targets)};
}

}  // namespace stress
