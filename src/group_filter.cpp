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
// it is output (RepeatsRows; a group has no other value than its keys). The
// IMMV holds f(counts before) rows of a touched group, where f is the
// copies expression and the counts before are the counts now less the
// delta's, numbered 1 to f (CopyNumberColumn()); it must hold f(counts now)
// (none for a group gone). The rows numbered beyond that go, found by key
// and number, and the missing numbers come: the work is that of the change,
// however many rows the group has.
MaintenanceStep SyncCopies(const ViewDefinition& view, const Delta& delta, const std::vector<KeyColumn>& keys) {
    const std::string immv = QuoteQualified(view.immv), m = kImmvAlias, s = "__ivm_s", t = "__ivm_t", g = "__ivm_g",
                      k = "__ivm_k", wanted = "__ivm_n", have = "__ivm_have";
    const OutputColumn* copies = nullptr;
    for (const auto& c : view.columns)
        if (c.name == CopiesColumn()) copies = &c;
    std::vector<std::string> key_names;
    std::vector<StreamColumn> streams;
    for (const auto& key : keys) {
        key_names.push_back(key.name);
        streams.push_back({key.name, key.expr});
    }
    // The delta's net count of each touched group per operand.
    std::vector<std::string> touched = QualifiedColumns(k, key_names), counts;
    for (size_t j : copies->operands) {
        const OutputColumn& count = view.columns[j];
        streams.push_back({count.name, "CASE WHEN (" + count.aggregate->filter_sql + ") THEN 1 END"});
        touched.push_back("COALESCE(sum(" + QualifiedColumn(k, "__ivm_sign") + ") FILTER (WHERE " +
                          QualifiedColumn(k, count.name) + " IS NOT NULL), 0) AS " + QuoteIdent(count.name));
        counts.push_back("__ivm_l." + QuoteIdent(count.name));
    }
    const auto now = [&](size_t j) { return "COALESCE(" + QualifiedColumn(g, view.columns[j].name) + ", 0)"; };
    const auto before = [&](size_t j) { return "(" + now(j) + " - " + QualifiedColumn(t, view.columns[j].name) + ")"; };
    std::vector<std::string> state = QualifiedColumns(t, key_names);
    state.push_back(ExpandExpression(*copies, now) + " AS " + wanted);
    state.push_back(ExpandExpression(*copies, before) + " AS " + have);
    // The rows of group s numbered beyond what it outputs now, by key and
    // number (the index on both): the rows the group loses.
    const std::string number = QuoteIdent(CopyNumberColumn());
    const std::string beyond =
        KeyLookup(immv, keys, s, "__ivm_l.ctid", "__ivm_r", "__ivm_l." + number + " > " + QualifiedColumn(s, wanted));
    const std::vector<std::string> ctes{
        t + " AS MATERIALIZED (SELECT " + Join(touched, ", ") + " FROM (" +
            StreamUnion(GroupStateView(view), streams, delta, StreamSign::Any, true) + ") AS " + k + " GROUP BY " +
            Join(QualifiedColumns(k, key_names), ", ") + ")",
        s + " AS MATERIALIZED (SELECT " + Join(state, ", ") + " FROM " + t + " LEFT JOIN " +
            KeyLookup(QuoteQualified(*view.groups_table), keys, t, Join(counts, ", "), g) + " ON true)",
        "__ivm_x AS (DELETE FROM " + immv + " AS " + m + " WHERE " + m +
            ".ctid = ANY (ARRAY(SELECT __ivm_r.ctid FROM " + s + " CROSS JOIN " + beyond + " WHERE " +
            QualifiedColumn(s, wanted) + " < " + QualifiedColumn(s, have) + ")) RETURNING 1)",
        "__ivm_i AS (INSERT INTO " + immv + " (" + Join(QuoteIdents(key_names), ", ") + ", " + number + ") SELECT " +
            Join(QualifiedColumns(s, key_names), ", ") + ", __ivm_c FROM " + s +
            " CROSS JOIN LATERAL generate_series(" + QualifiedColumn(s, have) + " + 1, " + QualifiedColumn(s, wanted) +
            ") AS __ivm_c RETURNING 1)"};
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
    if (RepeatsRows(view)) names.push_back(CopyNumberColumn());
    return names;
}

std::string PassingGroups(const ViewDefinition& view, const std::string& groups) {
    const std::string g = "__ivm_g";
    if (!RepeatsRows(view))
        return "SELECT " + Join(QualifiedColumns(g, FilteredColumns(view)), ", ") + " FROM " + groups + " AS " + g +
               " WHERE " + QualifiedColumn(g, HavingColumn());
    // A group output several times is as many rows, numbered.
    std::vector<std::string> list;
    for (const auto& k : KeyColumns(view)) list.push_back(QualifiedColumn(g, k.name));
    list.push_back("__ivm_c AS " + QuoteIdent(CopyNumberColumn()));
    return "SELECT " + Join(list, ", ") + " FROM " + groups + " AS " + g + " CROSS JOIN LATERAL generate_series(1, " +
           QualifiedColumn(g, CopiesColumn()) + ") AS __ivm_c WHERE " + QualifiedColumn(g, HavingColumn());
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
