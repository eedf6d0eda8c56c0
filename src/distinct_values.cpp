// DISTINCT aggregates (see include/ivmx/core/distinct_values.hpp).
#include "ivmx/core/distinct_values.hpp"

#include <algorithm>
#include <cstdint>

#include "ivmx/core/aggregate_rules.hpp"
#include "ivmx/core/delta_query.hpp"
#include "ivmx/core/error.hpp"
#include "ivmx/core/group_filter.hpp"
#include "ivmx/core/sql_text.hpp"

namespace ivmx::core {

namespace {

const char* kChange = "__ivm_dn";  // the netted change of a value's count

// The argument as a values table counts it: NULL outside the filter.
std::string CountedValue(const DistinctValues& values) {
    if (values.filter_sql.empty()) return values.argument_sql;
    return "CASE WHEN (" + values.filter_sql + ") THEN " + values.argument_sql + " END";
}

std::vector<std::string> KeyNames(const ViewDefinition& view, const std::string& qualifier) {
    std::vector<std::string> out;
    for (const auto& k : KeyColumns(view))
        out.push_back(qualifier.empty() ? QuoteIdent(k.name) : QualifiedColumn(qualifier, k.name));
    return out;
}

// The delta's netted change of every (group, value) of values table j.
std::string NettedValues(const ViewDefinition& view, const Delta& delta, size_t j) {
    std::vector<StreamColumn> columns;
    for (const auto& k : KeyColumns(view)) columns.push_back({k.name, k.expr});
    columns.push_back({DistinctValueColumn(), CountedValue(view.distinct_values[j])});
    std::vector<std::string> grouping = KeyNames(view, "__ivm_u");
    grouping.push_back(QualifiedColumn("__ivm_u", DistinctValueColumn()));
    std::vector<std::string> select_list;
    for (const auto& g : grouping) select_list.push_back(g);
    select_list.push_back("sum(__ivm_sign) AS " + std::string(kChange));
    return "SELECT " + Join(select_list, ", ") + " FROM (" + StreamUnion(view, columns, delta, StreamSign::Any, true) +
           ") AS __ivm_u WHERE " + QualifiedColumn("__ivm_u", DistinctValueColumn()) + " IS NOT NULL GROUP BY " +
           Join(grouping, ", ") + " HAVING sum(__ivm_sign) <> 0";
}

std::vector<std::string> TableKey(const ViewDefinition& view) {
    std::vector<std::string> key = KeyNames(view, "");
    key.push_back(QuoteIdent(DistinctValueColumn()));
    return key;
}

std::string ValuesQuery(const ViewDefinition& view, size_t j) {
    std::vector<std::string> select_list, grouping = GroupingExpressions(view);
    for (const auto& k : KeyColumns(view)) select_list.push_back(k.expr + " AS " + QuoteIdent(k.name));
    const std::string value = CountedValue(view.distinct_values[j]);
    select_list.push_back(value + " AS " + QuoteIdent(DistinctValueColumn()));
    select_list.push_back("count(*) AS " + QuoteIdent(MultiplicityColumn()));
    select_list.push_back("CAST(NULL AS bigint) AS " + QuoteIdent(ChangeColumn()));
    grouping.push_back(value);
    return "SELECT " + Join(select_list, ", ") + FromBase(view) + MoreConditions(view) + "(" + value +
           ") IS NOT NULL GROUP BY " + Join(grouping, ", ");
}

}  // namespace

bool CountsDistinctValues(const Aggregate& agg) {
    return agg.distinct &&
           (agg.kind == AggregateKind::Count || agg.kind == AggregateKind::Sum || agg.kind == AggregateKind::Avg);
}

std::string DistinctValuesSuffix(size_t n) {
    return "__ivm_values_" + std::to_string(n);
}

size_t DistinctValuesOf(const ViewDefinition& view, const Aggregate& agg) {
    for (size_t j = 0; j < view.distinct_values.size(); ++j)
        if (view.distinct_values[j].argument_sql == agg.argument_sql &&
            view.distinct_values[j].filter_sql == agg.filter_sql)
            return j;
    throw Error(sqlstate::kInternalError, "no values table for DISTINCT aggregate over " + agg.argument_sql);
}

void AddDistinctValues(ViewDefinition& view) {
    for (const auto& c : view.columns) {
        if (!c.aggregate || !CountsDistinctValues(*c.aggregate)) continue;
        bool known = false;
        for (const auto& v : view.distinct_values)
            known |= v.argument_sql == c.aggregate->argument_sql && v.filter_sql == c.aggregate->filter_sql;
        if (known) continue;
        view.distinct_values.push_back({CompanionName(view.immv, DistinctValuesSuffix(view.distinct_values.size() + 1)),
                                        c.aggregate->argument_sql, c.aggregate->argument_type,
                                        c.aggregate->filter_sql});
    }
}

std::string ChangeColumn() {
    return "__ivm_change__";
}

std::string GainedColumn(size_t j) {
    return "__ivm_dd_" + std::to_string(j + 1) + "__";
}

std::string GainedValueColumn(size_t j) {
    return "__ivm_dv_" + std::to_string(j + 1) + "__";
}

std::vector<std::string> DistinctValueUpdates(const ViewDefinition& view, const Delta& delta) {
    std::vector<std::string> ctes;
    const std::string v = "__ivm_v";
    for (size_t j = 0; j < view.distinct_values.size(); ++j) {
        const std::vector<std::string> key = TableKey(view);
        std::vector<std::string> columns = key;
        columns.push_back(QuoteIdent(MultiplicityColumn()));
        columns.push_back(QuoteIdent(ChangeColumn()));
        std::vector<std::string> order = KeyNames(view, "__ivm_n");
        order.push_back(QualifiedColumn("__ivm_n", DistinctValueColumn()));
        std::vector<std::string> selected = order;
        selected.push_back(std::string("__ivm_n.") + kChange);
        selected.push_back(std::string("__ivm_n.") + kChange);
        std::vector<std::string> returned = KeyNames(view, v);
        for (const std::string& c : {DistinctValueColumn(), MultiplicityColumn(), ChangeColumn()})
            returned.push_back(QualifiedColumn(v, c));
        const std::string count = QuoteIdent(MultiplicityColumn());
        ctes.push_back("__ivm_vu" + std::to_string(j + 1) + " AS (INSERT INTO " +
                       QuoteQualified(view.distinct_values[j].table) + " AS " + v + " (" + Join(columns, ", ") +
                       ") SELECT " + Join(selected, ", ") + " FROM (" + NettedValues(view, delta, j) +
                       ") AS __ivm_n ORDER BY " + Join(order, ", ") + " ON CONFLICT (" + Join(key, ", ") +
                       ") DO UPDATE SET " + count + " = " + QualifiedColumn(v, MultiplicityColumn()) + " + excluded." +
                       count + ", " + QuoteIdent(ChangeColumn()) + " = excluded." + QuoteIdent(ChangeColumn()) +
                       " RETURNING " + Join(returned, ", ") + ")");
    }
    return ctes;
}

std::vector<std::string> VanishedValueDeletes(const ViewDefinition& view, const Delta& delta) {
    std::vector<std::string> deletes;
    if (!delta.HasNegative()) return deletes;
    // (Found through the partial index of zero counts.)
    for (const auto& values : view.distinct_values)
        deletes.push_back("DELETE FROM " + QuoteQualified(values.table) + " WHERE " + QuoteIdent(MultiplicityColumn()) +
                          " = 0");
    return deletes;
}

std::string WithDistinctTransitions(const ViewDefinition& view, const std::vector<std::string>& stream_columns,
                                    const std::string& streams) {
    if (view.distinct_values.empty()) return streams;
    const size_t tables = view.distinct_values.size();
    // Extra columns j of the rows of table `from` (SIZE_MAX: the delta's).
    auto extras = [&](size_t from) {
        std::vector<std::string> out;
        for (size_t j = 0; j < tables; ++j) {
            const std::string count = QualifiedColumn("__ivm_r", MultiplicityColumn());
            const std::string before = "(" + count + " - " + QualifiedColumn("__ivm_r", ChangeColumn()) + ")";
            if (j == from) {
                out.push_back("CASE WHEN " + count + " > 0 THEN 1 ELSE 0 END - CASE WHEN " + before +
                              " > 0 THEN 1 ELSE 0 END AS " + QuoteIdent(GainedColumn(j)));
                out.push_back(QualifiedColumn("__ivm_r", DistinctValueColumn()) + " AS " +
                              QuoteIdent(GainedValueColumn(j)));
            } else if (from == SIZE_MAX) {
                out.push_back("CAST(NULL AS integer) AS " + QuoteIdent(GainedColumn(j)));
                out.push_back("CAST(NULL AS " + view.distinct_values[j].argument_type + ") AS " +
                              QuoteIdent(GainedValueColumn(j)));
            } else {
                out.push_back("NULL");
                out.push_back("NULL");
            }
        }
        return out;
    };
    std::vector<std::string> branches{"SELECT __ivm_s.*, " + Join(extras(SIZE_MAX), ", ") + " FROM (" + streams +
                                      ") AS __ivm_s"};
    std::vector<std::string> key_names;
    for (const auto& k : KeyColumns(view)) key_names.push_back(k.name);
    for (size_t j = 0; j < tables; ++j) {
        std::vector<std::string> list;
        for (const auto& c : stream_columns)
            list.push_back(std::find(key_names.begin(), key_names.end(), c) != key_names.end()
                               ? QualifiedColumn("__ivm_r", c)
                               : "NULL");
        list.push_back("0");
        for (auto& e : extras(j)) list.push_back(std::move(e));
        const std::string count = QualifiedColumn("__ivm_r", MultiplicityColumn());
        branches.push_back("SELECT " + Join(list, ", ") + " FROM __ivm_vu" + std::to_string(j + 1) +
                           " AS __ivm_r WHERE (" + count + " > 0) <> (" + count + " - " +
                           QualifiedColumn("__ivm_r", ChangeColumn()) + " > 0)");
    }
    return Join(branches, " UNION ALL ");
}

std::vector<std::string> CreateDistinctValuesSql(const ViewDefinition& view) {
    std::vector<std::string> statements;
    for (size_t j = 0; j < view.distinct_values.size(); ++j) {
        const std::string table = QuoteQualified(view.distinct_values[j].table);
        statements.push_back("CREATE TABLE " + table + " AS " + ValuesQuery(view, j));
        statements.push_back("CREATE UNIQUE INDEX ON " + table + " (" + Join(TableKey(view), ", ") +
                             ") NULLS NOT DISTINCT");
        // Finds the values whose count reached zero (VanishedValueDeletes).
        statements.push_back("CREATE INDEX ON " + table + " (" + QuoteIdent(MultiplicityColumn()) + ") WHERE " +
                             QuoteIdent(MultiplicityColumn()) + " = 0");
    }
    return statements;
}

std::vector<std::string> RefreshDistinctValuesSql(const ViewDefinition& view, bool with_data, bool truncate) {
    std::vector<std::string> statements;
    for (size_t j = 0; j < view.distinct_values.size(); ++j) {
        const std::string table = QuoteQualified(view.distinct_values[j].table);
        statements.push_back((truncate ? "TRUNCATE " : "DELETE FROM ") + table);
        if (with_data) {
            std::vector<std::string> columns = TableKey(view);
            columns.push_back(QuoteIdent(MultiplicityColumn()));
            columns.push_back(QuoteIdent(ChangeColumn()));
            statements.push_back("INSERT INTO " + table + " (" + Join(columns, ", ") + ") " + ValuesQuery(view, j));
        }
    }
    return statements;
}

}  // namespace ivmx::core
