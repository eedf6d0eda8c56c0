// DISTINCT aggregates (see include/ivmx/core/distinct_values.hpp).
#include "ivmx/core/distinct_values.hpp"

#include "ivmx/core/aggregate_rules.hpp"
#include "ivmx/core/delta_query.hpp"
#include "ivmx/core/error.hpp"
#include "ivmx/core/group_filter.hpp"
#include "ivmx/core/sql_text.hpp"

namespace ivmx::core {

namespace {

const char* kChange = "__ivm_dn";  // the netted change of a value's count
const char* kGained = "__ivm_dd";  // +1: the group gained the value, -1: lost it

struct KeyColumn {
    std::string name;
    std::string expr;
    bool not_null;
};

std::vector<KeyColumn> Keys(const ViewDefinition& view) {
    std::vector<KeyColumn> keys;
    for (const auto& c : view.columns)
        if (IsKeyColumn(c)) keys.push_back({c.name, c.expression_sql, c.not_null});
    return keys;
}

// The argument as a values table counts it: NULL outside the filter.
std::string CountedValue(const DistinctValues& values) {
    if (values.filter_sql.empty()) return values.argument_sql;
    return "CASE WHEN (" + values.filter_sql + ") THEN " + values.argument_sql + " END";
}

std::vector<std::string> KeyNames(const ViewDefinition& view, const std::string& qualifier) {
    std::vector<std::string> out;
    for (const auto& k : Keys(view))
        out.push_back(qualifier.empty() ? QuoteIdent(k.name) : QualifiedColumn(qualifier, k.name));
    return out;
}

std::string SameValue(const ViewDefinition& view, const std::string& a, const std::string& b) {
    std::vector<std::string> match;
    for (const auto& k : Keys(view))
        match.push_back(MatchExpr(QualifiedColumn(a, k.name), QualifiedColumn(b, k.name), k.not_null));
    match.push_back(QualifiedColumn(a, DistinctValueColumn()) + " = " + QualifiedColumn(b, DistinctValueColumn()));
    return Join(match, " AND ");
}

// The delta's netted change of every (group, value) of values table j.
std::string NettedValues(const ViewDefinition& view, const Delta& delta, size_t j) {
    std::vector<StreamColumn> columns;
    for (const auto& k : Keys(view)) columns.push_back({k.name, k.expr});
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

// The FROM clause of the view over its relations' current state, and what
// adds one more condition to it.
std::string FromBase(const ViewDefinition& view, std::string& more) {
    std::vector<std::string> sources;
    for (const auto& rel : view.relations) sources.push_back(QuoteQualified(rel.name));
    more = view.join_tree || !view.where_sql.empty() ? " AND " : " WHERE ";
    return FromList(view, sources);
}

std::string ValuesQuery(const ViewDefinition& view, size_t j) {
    std::vector<std::string> select_list, grouping;
    for (const auto& k : Keys(view)) {
        select_list.push_back(k.expr + " AS " + QuoteIdent(k.name));
        grouping.push_back(k.expr);
    }
    const std::string value = CountedValue(view.distinct_values[j]);
    select_list.push_back(value + " AS " + QuoteIdent(DistinctValueColumn()));
    select_list.push_back("count(*) AS " + QuoteIdent(MultiplicityColumn()));
    grouping.push_back(value);
    std::string more;
    const std::string from = FromBase(view, more);
    return "SELECT " + Join(select_list, ", ") + from + more + "(" + value + ") IS NOT NULL GROUP BY " +
           Join(grouping, ", ");
}

}  // namespace

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
        if (!c.aggregate || !c.aggregate->distinct) continue;
        bool known = false;
        for (const auto& v : view.distinct_values)
            known |= v.argument_sql == c.aggregate->argument_sql && v.filter_sql == c.aggregate->filter_sql;
        if (known) continue;
        view.distinct_values.push_back({CompanionName(view.immv, DistinctValuesSuffix(view.distinct_values.size() + 1)),
                                        c.aggregate->argument_sql, c.aggregate->argument_type,
                                        c.aggregate->filter_sql});
    }
}

std::vector<MaintenanceStep> CountDistinctValues(const ViewDefinition& view, const Delta& delta) {
    std::vector<MaintenanceStep> steps;
    const std::string v = "__ivm_v";
    for (size_t j = 0; j < view.distinct_values.size(); ++j) {
        const std::vector<std::string> key = TableKey(view);
        std::vector<std::string> columns = key;
        columns.push_back(QuoteIdent(MultiplicityColumn()));
        std::vector<std::string> selected = KeyNames(view, "__ivm_n");
        selected.push_back(QualifiedColumn("__ivm_n", DistinctValueColumn()));
        std::vector<std::string> order = selected;
        selected.push_back(std::string("__ivm_n.") + kChange);
        // Value rows are locked in key order, as group rows are.
        steps.push_back({"INSERT INTO " + QuoteQualified(view.distinct_values[j].table) + " AS " + v + " (" +
                             Join(columns, ", ") + ") SELECT " + Join(selected, ", ") + " FROM (" +
                             NettedValues(view, delta, j) + ") AS __ivm_n ORDER BY " + Join(order, ", ") +
                             " ON CONFLICT (" + Join(key, ", ") + ") DO UPDATE SET " +
                             QuoteIdent(MultiplicityColumn()) + " = " + QualifiedColumn(v, MultiplicityColumn()) +
                             " + excluded." + QuoteIdent(MultiplicityColumn()),
                         StepInput::None, false});
    }
    return steps;
}

std::vector<MaintenanceStep> DeleteVanishedValues(const ViewDefinition& view, const Delta& delta) {
    std::vector<MaintenanceStep> steps;
    if (!delta.HasNegative()) return steps;
    const std::string v = "__ivm_v";
    for (size_t j = 0; j < view.distinct_values.size(); ++j)
        steps.push_back({"DELETE FROM " + QuoteQualified(view.distinct_values[j].table) + " AS " + v + " USING (" +
                             NettedValues(view, delta, j) + ") AS __ivm_n WHERE " + SameValue(view, v, "__ivm_n") +
                             " AND " + QualifiedColumn(v, MultiplicityColumn()) + " = 0",
                         StepInput::None, false});
    return steps;
}

std::string DistinctChanges(const ViewDefinition& view, const Delta& delta, size_t j, std::vector<std::string>& columns,
                            std::vector<std::string>& counts) {
    const std::string n = "__ivm_n", v = "__ivm_v", x = QualifiedColumn(n, DistinctValueColumn());
    const std::string dd = QualifiedColumn("__ivm_t", kGained);
    auto filtered = [&](const std::string& aggregate, const char* sign) {
        return aggregate + " FILTER (WHERE " + dd + sign + " 0)";
    };
    std::vector<std::string> select_list = KeyNames(view, n);
    auto add = [&](const std::string& expr, const std::string& name, bool count) {
        select_list.push_back(expr + " AS " + QuoteIdent(name));
        columns.push_back(name);
        if (count) counts.push_back(name);
    };
    for (size_t i = 0; i < view.columns.size(); ++i) {
        const auto& agg = view.columns[i].aggregate;
        if (!agg || !agg->distinct || DistinctValuesOf(view, *agg) != j) continue;
        const std::string gained = "CAST(sum(" + dd + ") AS bigint)";
        switch (agg->kind) {
            case AggregateKind::Count:
                add(gained, view.columns[i].name, true);
                break;
            case AggregateKind::Sum:
            case AggregateKind::Avg: {
                const bool avg = agg->kind == AggregateKind::Avg;
                std::string value = x;
                if (avg && !AvgStateFor(agg->argument_type)->sum_argument_type.empty())
                    value = "CAST(" + x + " AS " + AvgStateFor(agg->argument_type)->sum_argument_type + ")";
                const std::string type = avg ? AvgStateFor(agg->argument_type)->sum_type : agg->result_type;
                add("CAST(sum(" + dd + " * " + value + ") AS " + type + ")",
                    avg ? AvgSumColumn(i) : view.columns[i].name, false);
                add(gained, NonNullCountColumn(i), true);
                if (TracksScale(*agg)) {
                    add(filtered("max(scale(" + x + "))", " >"), InsertedExtreme(i), false);
                    add(filtered("max(scale(" + x + "))", " <"), DeletedExtreme(i), false);
                }
                break;
            }
            default:
                throw Error(sqlstate::kInternalError, "DISTINCT is kept for count, sum and avg only");
        }
    }
    const std::string count = QualifiedColumn(v, MultiplicityColumn());
    std::string sql = "SELECT " + Join(select_list, ", ") + " FROM (" + NettedValues(view, delta, j) + ") AS " + n +
                      " JOIN " + QuoteQualified(view.distinct_values[j].table) + " AS " + v + " ON " +
                      SameValue(view, v, n) + ", LATERAL (SELECT CASE WHEN " + count +
                      " > 0 THEN 1 ELSE 0 END - CASE WHEN " + count + " - " + QualifiedColumn(n, kChange) +
                      " > 0 THEN 1 ELSE 0 END AS " + kGained + ") AS __ivm_t WHERE " + dd + " <> 0";
    const std::vector<std::string> keys = KeyNames(view, n);
    if (!keys.empty()) sql += " GROUP BY " + Join(keys, ", ");
    return sql;
}

std::vector<std::string> CreateDistinctValuesSql(const ViewDefinition& view) {
    std::vector<std::string> statements;
    for (size_t j = 0; j < view.distinct_values.size(); ++j) {
        const std::string table = QuoteQualified(view.distinct_values[j].table);
        statements.push_back("CREATE TABLE " + table + " AS " + ValuesQuery(view, j));
        statements.push_back("CREATE UNIQUE INDEX ON " + table + " (" + Join(TableKey(view), ", ") +
                             ") NULLS NOT DISTINCT");
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
            statements.push_back("INSERT INTO " + table + " (" + Join(columns, ", ") + ") " + ValuesQuery(view, j));
        }
    }
    return statements;
}

}  // namespace ivmx::core
