// Views with HAVING (see include/ivmx/core/group_filter.hpp).
#include "ivmx/core/group_filter.hpp"

#include <algorithm>

#include "ivmx/core/delta_query.hpp"
#include "ivmx/core/set_operation.hpp"
#include "ivmx/core/sql_text.hpp"

namespace ivmx::core {

namespace {

const char* kImmvAlias = "__ivm_mv";
const char* kPassing = "__ivm_pass";

// The IMMV's columns that are not group keys.
std::vector<std::string> ValueColumns(const ViewDefinition& view) {
    std::vector<std::string> values;
    const std::vector<std::string> all = FilteredColumns(view);
    for (const auto& c : view.columns)
        if (!IsKeyColumn(c) && std::find(all.begin(), all.end(), c.name) != all.end()) values.push_back(c.name);
    return values;
}

// The statement for a view without GROUP BY: its IMMV holds its one row or
// none.
MaintenanceStep SyncSingleRow(const ViewDefinition& view) {
    const std::string immv = QuoteQualified(view.immv);
    const std::string columns = Join(QuoteIdents(FilteredColumns(view)), ", ");
    return {"WITH __ivm_x AS (DELETE FROM " + immv + " RETURNING 1), __ivm_i AS (INSERT INTO " + immv + " (" + columns +
                ") " + PassingGroups(view, QuoteQualified(*view.groups_table)) +
                " RETURNING 1) SELECT (SELECT count(*) FROM __ivm_x) + (SELECT count(*) FROM __ivm_i)",
            StepInput::None, false, true};
}

// The statement for a view whose IMMV holds a group's row as many times as
// it is output (RepeatsRows; a group has no other value than its keys):
// per touched group, the rows it has beyond that number are deleted, and
// the rows it lacks inserted.
MaintenanceStep SyncCopies(const ViewDefinition& view, const Delta& delta, const std::vector<KeyColumn>& keys) {
    const std::string immv = QuoteQualified(view.immv), m = kImmvAlias, s = "__ivm_s", t = "__ivm_t", g = "__ivm_g",
                      r = "__ivm_r", row = "__ivm_row", wanted = "__ivm_n", have = "__ivm_have", nth = "__ivm_nth",
                      id = "__ivm_gid";
    std::vector<std::string> key_names;
    std::vector<StreamColumn> key_streams;
    for (const auto& k : keys) {
        key_names.push_back(k.name);
        key_streams.push_back({k.name, k.expr});
    }
    // The groups the delta touched, numbered; with the number of rows they
    // are output (none: gone) and the IMMV rows they have, found by key.
    std::vector<std::string> state = QualifiedColumns(t, key_names);
    const std::string window = " OVER (PARTITION BY " + QualifiedColumn(t, id) + ")";
    state.push_back("COALESCE(" + QualifiedColumn(g, CopiesColumn()) + ", 0) AS " + wanted);
    state.push_back(QualifiedColumn(r, row) + " AS " + row);
    state.push_back("row_number()" + window + " AS " + nth);
    state.push_back("count(" + QualifiedColumn(r, row) + ")" + window + " AS " + have);
    const std::vector<std::string> ctes{
        t + " AS MATERIALIZED (SELECT *, row_number() OVER () AS " + id + " FROM (SELECT DISTINCT * FROM (" +
            StreamUnion(GroupStateView(view), key_streams, delta, StreamSign::Any, false) + ") AS __ivm_k) AS __ivm_d)",
        s + " AS MATERIALIZED (SELECT " + Join(state, ", ") + " FROM " + t + " LEFT JOIN " +
            KeyLookup(QuoteQualified(*view.groups_table), keys, t,
                      "__ivm_l." + QuoteIdent(CopiesColumn()) + " AS " + QuoteIdent(CopiesColumn()), g) +
            " ON true LEFT JOIN " + KeyLookup(immv, keys, t, "__ivm_l.ctid AS " + row, r) + " ON true)",
        "__ivm_x AS (DELETE FROM " + immv + " AS " + m + " USING " + s + " WHERE " + m +
            ".ctid = " + QualifiedColumn(s, row) + " AND " + QualifiedColumn(s, nth) + " > " +
            QualifiedColumn(s, wanted) + " RETURNING 1)",
        "__ivm_i AS (INSERT INTO " + immv + " (" + Join(QuoteIdents(key_names), ", ") + ") SELECT " +
            Join(QualifiedColumns(s, key_names), ", ") + " FROM " + s + " CROSS JOIN LATERAL generate_series(1, " +
            QualifiedColumn(s, wanted) + " - " + QualifiedColumn(s, have) + ") WHERE " + QualifiedColumn(s, nth) +
            " = 1 RETURNING 1)"};
    return {"WITH " + Join(ctes, ", ") + " SELECT (SELECT count(*) FROM __ivm_x) + (SELECT count(*) FROM __ivm_i)",
            StepInput::None, false, true};
}

}  // namespace

bool FiltersGroups(const ViewDefinition& view) {
    return view.groups_table.has_value();
}

ViewDefinition GroupStateView(const ViewDefinition& view) {
    ViewDefinition state = view;
    state.immv = *view.groups_table;
    state.groups_table.reset();
    return state;
}

std::vector<std::string> FilteredColumns(const ViewDefinition& view) {
    std::vector<std::string> names;
    for (const auto& c : view.columns)
        if (!c.hidden) names.push_back(c.name);
    for (const auto& c : view.columns)
        if (c.hidden && IsKeyColumn(c)) names.push_back(c.name);
    return names;
}

std::string PassingGroups(const ViewDefinition& view, const std::string& groups) {
    const std::string g = "__ivm_g";
    // A group output several times is as many rows.
    const std::string copies =
        RepeatsRows(view) ? " CROSS JOIN LATERAL generate_series(1, " + QualifiedColumn(g, CopiesColumn()) + ")" : "";
    return "SELECT " + Join(QualifiedColumns(g, FilteredColumns(view)), ", ") + " FROM " + groups + " AS " + g +
           copies + " WHERE " + QualifiedColumn(g, HavingColumn());
}

MaintenanceStep SyncPassingGroups(const ViewDefinition& view, const Delta& delta) {
    const std::vector<KeyColumn> keys = KeyColumns(view);
    if (keys.empty()) return SyncSingleRow(view);
    if (RepeatsRows(view)) return SyncCopies(view, delta, keys);
    const std::string immv = QuoteQualified(view.immv), m = kImmvAlias, s = "__ivm_s", t = "__ivm_t", g = "__ivm_g",
                      r = "__ivm_r", row = "__ivm_row";
    std::vector<std::string> key_names;
    std::vector<StreamColumn> key_streams;
    for (const auto& k : keys) {
        key_names.push_back(k.name);
        key_streams.push_back({k.name, k.expr});
    }
    const std::vector<std::string> values = ValueColumns(view);
    // The groups the delta touched, with their state now (none: gone) and
    // the IMMV row they have (none: not passing before), both found by key
    // through the tables' unique indexes.
    std::vector<std::string> state = QualifiedColumns(t, key_names);
    for (const auto& v : QualifiedColumns(g, values)) state.push_back(v);
    state.push_back(QualifiedColumn(g, HavingColumn()) + " AS " + kPassing);
    state.push_back(QualifiedColumn(r, row) + " AS " + row);
    std::vector<std::string> group_columns = QualifiedColumns("__ivm_l", values);
    group_columns.push_back(QualifiedColumn("__ivm_l", HavingColumn()));
    std::vector<std::string> ctes{
        t + " AS MATERIALIZED (SELECT DISTINCT * FROM (" +
            StreamUnion(GroupStateView(view), key_streams, delta, StreamSign::Any, false) + ") AS __ivm_k)",
        s + " AS MATERIALIZED (SELECT " + Join(state, ", ") + " FROM " + t + " LEFT JOIN " +
            KeyLookup(QuoteQualified(*view.groups_table), keys, t, Join(group_columns, ", "), g) +
            " ON true LEFT JOIN " + KeyLookup(immv, keys, t, "__ivm_l.ctid AS " + row, r) + " ON true)",
        "__ivm_x AS (DELETE FROM " + immv + " AS " + m + " USING " + s + " WHERE " + m + ".ctid = " +
            QualifiedColumn(s, row) + " AND " + QualifiedColumn(s, kPassing) + " IS NOT TRUE RETURNING 1)"};
    std::vector<std::string> counted{"(SELECT count(*) FROM __ivm_x)"};
    if (!values.empty()) {
        std::vector<std::string> set;
        for (const auto& v : values) set.push_back(QuoteIdent(v) + " = " + QualifiedColumn(s, v));
        // Compared by their text: a value equal to the stored one may be
        // shown otherwise (1.50 = 1.5, -0 = 0), and the IMMV shows what the
        // query shows; types without equality compare so too.
        const std::string changed = " AND CAST(ROW(" + Join(QualifiedColumns(m, values), ", ") +
                                    ") AS text) IS DISTINCT FROM CAST(ROW(" + Join(QualifiedColumns(s, values), ", ") +
                                    ") AS text)";
        ctes.push_back("__ivm_u AS (UPDATE " + immv + " AS " + m + " SET " + Join(set, ", ") + " FROM " + s +
                       " WHERE " + m + ".ctid = " + QualifiedColumn(s, row) + " AND " + QualifiedColumn(s, kPassing) +
                       changed + " RETURNING 1)");
        counted.push_back("(SELECT count(*) FROM __ivm_u)");
    }
    std::vector<std::string> inserted = QualifiedColumns(s, key_names);
    for (const auto& v : QualifiedColumns(s, values)) inserted.push_back(v);
    std::vector<std::string> insert_columns = key_names;
    for (const auto& v : values) insert_columns.push_back(v);
    ctes.push_back("__ivm_i AS (INSERT INTO " + immv + " (" + Join(QuoteIdents(insert_columns), ", ") + ") SELECT " +
                   Join(inserted, ", ") + " FROM " + s + " WHERE " + QualifiedColumn(s, kPassing) + " AND " +
                   QualifiedColumn(s, row) + " IS NULL RETURNING 1)");
    counted.push_back("(SELECT count(*) FROM __ivm_i)");
    return {"WITH " + Join(ctes, ", ") + " SELECT " + Join(counted, " + "), StepInput::None, false, true};
}

QualifiedName CompanionName(const QualifiedName& immv, const std::string& suffix) {
    constexpr size_t kMaxIdentifier = 63;
    std::string base = immv.name;
    if (base.size() + suffix.size() > kMaxIdentifier) {
        size_t keep = kMaxIdentifier - suffix.size();
        // Not inside a UTF-8 sequence: back up to the start of a character.
        while (keep > 0 && (static_cast<unsigned char>(base[keep]) & 0xC0) == 0x80) --keep;
        base.resize(keep);
    }
    return {immv.schema, base + suffix};
}

}  // namespace ivmx::core
