// The SQL writer (see include/ivmx/core/sql_writer.hpp).
//
// Apply strategies by view shape:
//  * Grouped / Distinct: one INSERT ... ON CONFLICT (group key) DO UPDATE adds
//    the aggregated delta to each group; it reports groups whose multiplicity
//    reached zero (deleted next, by ctid) and groups that lost their min/max
//    (recomputed next, all in one statement).
//  * GlobalAggregate: one UPDATE of the single row, then the same recompute.
//  * Bag: delete the rows matching the deleted side (by the base primary key
//    when the view selects it, else by value, k copies for k deleted rows),
//    then insert the rows of the inserted side.
#include "ivmx/core/sql_writer.hpp"

#include "ivmx/core/aggregate_rules.hpp"
#include "ivmx/core/delta_query.hpp"
#include "ivmx/core/sql_text.hpp"

namespace ivmx::core {

namespace {

const char* kImmvAlias = "__ivm_mv";
const char* kDeltaAlias = "__ivm_d";

std::string Immv(const ViewDefinition& view) { return QuoteQualified(view.immv); }

std::string FromBase(const ViewDefinition& view, const std::string& from_item) {
    std::string sql = " FROM " + from_item + " AS " + view.relations.front().alias;
    if (!view.where_sql.empty()) sql += " WHERE " + view.where_sql;
    return sql;
}

std::string BaseTable(const ViewDefinition& view) {
    return QuoteQualified(view.relations.front().name);
}

std::vector<std::string> Quoted(const std::vector<std::string>& names) {
    std::vector<std::string> out;
    for (const auto& n : names) out.push_back(QuoteIdent(n));
    return out;
}

// The populate-query expression of one table column.
std::string PopulateExpr(const ViewDefinition& view, const TableColumn& t) {
    const OutputColumn& c = view.columns[t.index];
    switch (t.kind) {
        case TableColumn::Kind::Output:
            if (c.role != ColumnRole::Aggregate) return c.expression_sql;
            if (c.aggregate->kind == AggregateKind::CountStar) return "count(*)";
            return AggregateFunctionName(c.aggregate->kind) + "(" + c.aggregate->argument_sql + ")";
        case TableColumn::Kind::Multiplicity:
            return "count(*)";
        case TableColumn::Kind::NonNullCount:
            return "count(" + c.aggregate->argument_sql + ")";
        case TableColumn::Kind::AvgSum: {
            const AvgState state = *AvgStateFor(c.aggregate->argument_type);
            if (state.sum_argument_type.empty()) return "sum(" + c.aggregate->argument_sql + ")";
            return "sum(CAST(" + c.aggregate->argument_sql + " AS " + state.sum_argument_type + "))";
        }
        case TableColumn::Kind::LostExtreme:
            return "CAST(NULL AS boolean)";
    }
    return "NULL";
}

// SET clause entries adding the delta row (qualifier e) to the stored row (m).
std::vector<std::string> AccumulateSetList(const ViewDefinition& view, const std::string& m,
                                           const std::string& e) {
    std::vector<std::string> sets;
    auto add = [&](const std::string& col, const std::string& expr) {
        sets.push_back(QuoteIdent(col) + " = " + expr);
    };
    auto sum_of = [&](const std::string& col) { return ColumnRef(m, col) + " + " + ColumnRef(e, col); };
    for (const TableColumn& t : TableLayout(view)) {
        switch (t.kind) {
            case TableColumn::Kind::Multiplicity:
            case TableColumn::Kind::NonNullCount:
                add(t.name, sum_of(t.name));
                break;
            case TableColumn::Kind::AvgSum:
                add(t.name, AddNullable(ColumnRef(m, t.name), ColumnRef(e, t.name)));
                break;
            case TableColumn::Kind::LostExtreme:
                add(t.name, "NULL");
                break;
            case TableColumn::Kind::Output: {
                const OutputColumn& c = view.columns[t.index];
                if (!c.aggregate) break;  // keys and key-derived columns never change
                const Aggregate& agg = *c.aggregate;
                const std::string nn = "(" + sum_of(NonNullCountColumn(t.index)) + ")";
                const std::string mine = ColumnRef(m, t.name), theirs = ColumnRef(e, t.name);
                switch (agg.kind) {
                    case AggregateKind::CountStar:
                    case AggregateKind::Count:
                        add(t.name, sum_of(t.name));
                        break;
                    case AggregateKind::Sum:
                        add(t.name, "CASE WHEN " + nn + " = 0 THEN NULL ELSE " +
                                        AddNullable(mine, theirs) + " END");
                        break;
                    case AggregateKind::Avg: {
                        const AvgState state = *AvgStateFor(agg.argument_type);
                        const std::string col = AvgSumColumn(t.index);
                        add(t.name, "CASE WHEN " + nn + " = 0 THEN NULL ELSE CAST((" +
                                        AddNullable(ColumnRef(m, col), ColumnRef(e, col)) +
                                        ") / CAST(" + nn + " AS " + state.divisor_type + ") AS " +
                                        agg.result_type + ") END");
                        break;
                    }
                    case AggregateKind::Min:
                    case AggregateKind::Max: {
                        const bool is_min = agg.kind == AggregateKind::Min;
                        const std::string lost = ColumnRef(e, LostExtremeColumn(t.index));
                        // A lost extreme survives only if the deleted value was
                        // strictly beyond the stored one; else it is recomputed.
                        add(t.name, "CASE WHEN " + nn + " = 0 THEN NULL WHEN " + lost +
                                        " THEN CASE WHEN " + theirs + (is_min ? " > " : " < ") +
                                        mine + " THEN " + mine + " END ELSE " +
                                        (is_min ? "LEAST(" : "GREATEST(") + mine + ", " + theirs +
                                        ") END");
                        break;
                    }
                }
                break;
            }
        }
    }
    return sets;
}

// Condition on a freshly written IMMV row (qualifier m) meaning a min/max
// must be recomputed: no value stored although non-null inputs remain.
std::string StaleExpr(const ViewDefinition& view, const std::string& m) {
    std::vector<std::string> terms;
    for (size_t i = 0; i < view.columns.size(); ++i) {
        const auto& agg = view.columns[i].aggregate;
        if (agg && (agg->kind == AggregateKind::Min || agg->kind == AggregateKind::Max))
            terms.push_back("(" + ColumnRef(m, view.columns[i].name) + " IS NULL AND " +
                            ColumnRef(m, NonNullCountColumn(i)) + " > 0)");
    }
    return terms.empty() ? "false" : Join(terms, " OR ");
}

// Wraps a data-modifying statement with RETURNING so that only rows needing
// a follow-up step come back: (tid, gone, stale).
std::string ReportRows(const std::string& dml, const std::string& gone, const std::string& stale) {
    return "WITH __ivm_w AS (" + dml + " RETURNING " + kImmvAlias + ".ctid AS tid, " + gone +
           " AS gone, " + stale + " AS stale) SELECT tid, gone, stale FROM __ivm_w WHERE gone OR stale";
}

std::string ProjectionSelect(const ViewDefinition& view, const DeltaSource& delta) {
    std::vector<std::string> select_list;
    for (const auto& p : ProjectDelta(view, kDeltaAlias))
        select_list.push_back(p.expr + " AS " + QuoteIdent(p.name));
    return "SELECT " + Join(select_list, ", ") + " FROM (" + DeltaQuery(view, delta) + ") AS " +
           kDeltaAlias;
}

MaintenanceStep KeyedUpsert(const ViewDefinition& view, const DeltaSource& delta) {
    const std::string m = kImmvAlias;
    std::string sql = "INSERT INTO " + Immv(view) + " AS " + m + " (" +
                      Join(Quoted(TableColumns(view)), ", ") + ") " + ProjectionSelect(view, delta) +
                      " ON CONFLICT (" + Join(Quoted(IdentityColumns(view)), ", ") +
                      ") DO UPDATE SET " + Join(AccumulateSetList(view, m, "excluded"), ", ");
    if (delta.deleted.empty()) return {sql, StepInput::None, false};
    return {ReportRows(sql, ColumnRef(m, MultiplicityColumn()) + " = 0", StaleExpr(view, m)),
            StepInput::None, true};
}

MaintenanceStep GlobalUpdate(const ViewDefinition& view, const DeltaSource& delta) {
    const std::string m = kImmvAlias, e = "__ivm_e";
    std::string sql = "UPDATE " + Immv(view) + " AS " + m + " SET " +
                      Join(AccumulateSetList(view, m, e), ", ") + " FROM (" +
                      ProjectionSelect(view, delta) + ") AS " + e;
    if (delta.deleted.empty() || !HasExtremes(view)) return {sql, StepInput::None, false};
    return {ReportRows(sql, "false", StaleExpr(view, m)), StepInput::None, true};
}

// Recomputes every min/max of the IMMV rows listed in $1 from the base table.
MaintenanceStep RecomputeExtremes(const ViewDefinition& view) {
    const std::string m = kImmvAlias;
    std::vector<std::string> targets, values;
    for (size_t i = 0; i < view.columns.size(); ++i) {
        const auto& agg = view.columns[i].aggregate;
        if (!agg || (agg->kind != AggregateKind::Min && agg->kind != AggregateKind::Max)) continue;
        targets.push_back(QuoteIdent(view.columns[i].name));
        values.push_back(AggregateFunctionName(agg->kind) + "(" + agg->argument_sql + ")");
    }
    std::string subquery = "SELECT " + Join(values, ", ") + FromBase(view, BaseTable(view));
    std::vector<std::string> match;
    for (const auto& c : view.columns)
        if (c.role == ColumnRole::GroupKey || (c.role == ColumnRole::Plain && IsKeyed(view.shape)))
            match.push_back(MatchExpr(c.expression_sql, ColumnRef(m, c.name), c.not_null));
    if (!match.empty())
        subquery += (view.where_sql.empty() ? " WHERE " : " AND ") + Join(match, " AND ");
    const std::string lhs = targets.size() == 1 ? targets[0] : "(" + Join(targets, ", ") + ")";
    return {"UPDATE " + Immv(view) + " AS " + m + " SET " + lhs + " = (" + subquery + ") WHERE " +
                m + ".ctid = ANY ($1)",
            StepInput::TidsToRecompute, false};
}

MaintenanceStep DeleteGoneRows(const ViewDefinition& view) {
    const std::string m = kImmvAlias;
    return {"DELETE FROM " + Immv(view) + " AS " + m + " WHERE " + m + ".ctid = ANY ($1) AND " +
                ColumnRef(m, MultiplicityColumn()) + " = 0",
            StepInput::TidsToDelete, false};
}

std::string BagSelect(const ViewDefinition& view, const std::string& from_item) {
    std::vector<std::string> select_list;
    for (const auto& c : view.columns)
        select_list.push_back(c.expression_sql + " AS " + QuoteIdent(c.name));
    return "SELECT " + Join(select_list, ", ") + FromBase(view, from_item);
}

const OutputColumn& ColumnNamed(const ViewDefinition& view, const std::string& name) {
    for (const auto& c : view.columns)
        if (c.name == name) return c;
    return view.columns.front();
}

// Deletes one IMMV row per deleted base row, matched by the base primary key.
MaintenanceStep BagDeleteByKey(const ViewDefinition& view, const std::string& deleted) {
    const std::string m = kImmvAlias, d = kDeltaAlias;
    std::vector<std::string> keys, match;
    for (const auto& name : view.row_key_columns) {
        keys.push_back(ColumnNamed(view, name).expression_sql + " AS " + QuoteIdent(name));
        match.push_back(ColumnRef(m, name) + " = " + ColumnRef(d, name));
    }
    return {"DELETE FROM " + Immv(view) + " AS " + m + " USING (SELECT " + Join(keys, ", ") +
                FromBase(view, deleted) + ") AS " + d + " WHERE " + Join(match, " AND "),
            StepInput::None, false};
}

// Deletes, for each distinct deleted row value occurring k times, k IMMV rows
// with that value.
MaintenanceStep BagDeleteByValue(const ViewDefinition& view, const std::string& deleted) {
    const std::string m = "__ivm_m", d = kDeltaAlias, s = "__ivm_s";
    std::vector<std::string> names, match;
    for (const auto& c : view.columns) {
        names.push_back(ColumnRef(s, c.name));
        match.push_back(MatchExpr(ColumnRef(m, c.name), ColumnRef(d, c.name), c.not_null));
    }
    const std::string counted = "SELECT " + Join(names, ", ") +
                                ", count(*) AS __ivm_n, row_number() OVER () AS __ivm_id FROM (" +
                                BagSelect(view, deleted) + ") AS " + s + " GROUP BY " +
                                Join(names, ", ");
    const std::string numbered =
        "SELECT " + m + ".ctid AS tid, " + d + ".__ivm_n AS n, row_number() OVER (PARTITION BY " +
        d + ".__ivm_id) AS rn FROM " + Immv(view) + " AS " + m + " JOIN (" + counted + ") AS " + d +
        " ON " + Join(match, " AND ");
    return {"DELETE FROM " + Immv(view) + " AS " + kImmvAlias + " WHERE " + kImmvAlias +
                ".ctid = ANY (ARRAY(SELECT __ivm_t.tid FROM (" + numbered +
                ") AS __ivm_t WHERE __ivm_t.rn <= __ivm_t.n))",
            StepInput::None, false};
}

MaintenanceStep BagInsert(const ViewDefinition& view, const std::string& inserted) {
    return {"INSERT INTO " + Immv(view) + " (" + Join(Quoted(TableColumns(view)), ", ") + ") " +
                BagSelect(view, inserted),
            StepInput::None, false};
}

}  // namespace

std::vector<std::string> TableColumns(const ViewDefinition& view) {
    std::vector<std::string> names;
    for (const auto& t : TableLayout(view)) names.push_back(t.name);
    return names;
}

std::vector<std::string> VisibleColumns(const ViewDefinition& view) {
    std::vector<std::string> names;
    for (const auto& c : view.columns)
        if (!c.hidden) names.push_back(c.name);
    return names;
}

MaintenancePlan BuildMaintenancePlan(const ViewDefinition& view, const DeltaSource& delta) {
    MaintenancePlan plan;
    if (delta.inserted.empty() && delta.deleted.empty()) return plan;
    switch (view.shape) {
        case ViewShape::Bag:
            if (!delta.deleted.empty())
                plan.steps.push_back(view.row_key_columns.empty()
                                         ? BagDeleteByValue(view, delta.deleted)
                                         : BagDeleteByKey(view, delta.deleted));
            if (!delta.inserted.empty()) plan.steps.push_back(BagInsert(view, delta.inserted));
            break;
        case ViewShape::Distinct:
        case ViewShape::Grouped:
            plan.steps.push_back(KeyedUpsert(view, delta));
            if (!delta.deleted.empty()) {
                if (HasExtremes(view)) plan.steps.push_back(RecomputeExtremes(view));
                plan.steps.push_back(DeleteGoneRows(view));
            }
            break;
        case ViewShape::GlobalAggregate:
            plan.steps.push_back(GlobalUpdate(view, delta));
            if (!delta.deleted.empty() && HasExtremes(view))
                plan.steps.push_back(RecomputeExtremes(view));
            break;
    }
    return plan;
}

std::string PopulateQuery(const ViewDefinition& view) {
    std::vector<std::string> select_list;
    for (const auto& t : TableLayout(view))
        select_list.push_back(PopulateExpr(view, t) + " AS " + QuoteIdent(t.name));
    std::string sql = "SELECT " + Join(select_list, ", ") + FromBase(view, BaseTable(view));
    if (IsKeyed(view.shape)) sql += " GROUP BY " + Join(GroupingExpressions(view), ", ");
    return sql;
}

std::string CreateTableSql(const ViewDefinition& view) {
    return "CREATE TABLE " + Immv(view) + " AS " + PopulateQuery(view);
}

std::optional<std::string> CreateIndexSql(const ViewDefinition& view) {
    const std::vector<std::string> identity = IdentityColumns(view);
    if (identity.empty()) return std::nullopt;
    std::string sql = "CREATE UNIQUE INDEX ON " + Immv(view) + " (" + Join(Quoted(identity), ", ") + ")";
    if (IsKeyed(view.shape)) sql += " NULLS NOT DISTINCT";
    return sql;
}

std::vector<std::string> RefreshStatements(const ViewDefinition& view, bool with_data) {
    std::vector<std::string> statements{"TRUNCATE " + Immv(view)};
    if (with_data)
        statements.push_back("INSERT INTO " + Immv(view) + " (" +
                             Join(Quoted(TableColumns(view)), ", ") + ") " + PopulateQuery(view));
    return statements;
}

std::string VerifySql(const ViewDefinition& view, const std::string& definition_sql) {
    const std::string stored =
        "SELECT " + Join(Quoted(VisibleColumns(view)), ", ") + " FROM " + Immv(view);
    return "SELECT (SELECT count(*) FROM (" + stored + " EXCEPT ALL (" + definition_sql +
           ")) AS __ivm_a) + (SELECT count(*) FROM ((" + definition_sql + ") EXCEPT ALL " + stored +
           ") AS __ivm_b)";
}

}  // namespace ivmx::core
