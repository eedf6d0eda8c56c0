// Aggregated deltas of keyed and aggregate views (see include/ivmx/core/delta_query.hpp).
//
// A delta is a Z-set: inserted rows count +1, deleted rows -1. Counters and
// sums are linear, so each side is aggregated on its own (the deleted side
// negated) and, when both sides are present, the two are added up per group.
// min/max are not linear: the delta carries the extreme inserted and the
// extreme deleted value, and the apply step decides whether the stored
// extreme survives or must be recomputed.
#include "ivmx/core/delta_query.hpp"

#include "ivmx/core/aggregate_rules.hpp"
#include "ivmx/core/sql_text.hpp"

namespace ivmx::core {

namespace {

const char* kInsertedExtremePrefix = "__ivm_ins_";
const char* kDeletedExtremePrefix = "__ivm_del_";

std::string InsertedExtreme(size_t i) { return kInsertedExtremePrefix + std::to_string(i + 1) + "__"; }
std::string DeletedExtreme(size_t i) { return kDeletedExtremePrefix + std::to_string(i + 1) + "__"; }

bool IsExtreme(AggregateKind kind) { return kind == AggregateKind::Min || kind == AggregateKind::Max; }

std::string Call(const std::string& function, const std::string& argument) {
    return function + "(" + argument + ")";
}

void AddSigned(std::vector<DeltaColumn>& out, const std::string& name, const std::string& expr,
               const std::string& type) {
    out.push_back({name, expr, "-" + expr, Combine::Sum, type});
}

void AddAggregateColumns(std::vector<DeltaColumn>& out, const OutputColumn& column, size_t index) {
    const Aggregate& agg = *column.aggregate;
    const std::string non_null_count = Call("count", agg.argument_sql);
    switch (agg.kind) {
        case AggregateKind::CountStar:
            AddSigned(out, column.name, "count(*)", "bigint");
            break;
        case AggregateKind::Count:
            AddSigned(out, column.name, non_null_count, "bigint");
            break;
        case AggregateKind::Sum:
            AddSigned(out, column.name, Call("sum", agg.argument_sql), agg.result_type);
            AddSigned(out, NonNullCountColumn(index), non_null_count, "bigint");
            break;
        case AggregateKind::Avg: {
            AvgState state = *AvgStateFor(agg.argument_type);
            std::string argument = agg.argument_sql;
            if (!state.sum_argument_type.empty())
                argument = "CAST(" + argument + " AS " + state.sum_argument_type + ")";
            AddSigned(out, AvgSumColumn(index), Call("sum", argument), state.sum_type);
            AddSigned(out, NonNullCountColumn(index), non_null_count, "bigint");
            break;
        }
        case AggregateKind::Min:
        case AggregateKind::Max: {
            const std::string fn = AggregateFunctionName(agg.kind);
            const std::string none = "CAST(NULL AS " + agg.result_type + ")";
            const Combine combine = agg.kind == AggregateKind::Min ? Combine::Min : Combine::Max;
            out.push_back({InsertedExtreme(index), Call(fn, agg.argument_sql), none, combine,
                           agg.result_type});
            out.push_back({DeletedExtreme(index), none, Call(fn, agg.argument_sql), combine,
                           agg.result_type});
            AddSigned(out, NonNullCountColumn(index), non_null_count, "bigint");
            break;
        }
    }
}

std::string SideSelect(const ViewDefinition& view, const std::vector<DeltaColumn>& columns,
                       const std::string& from_item, bool inserted_side) {
    std::vector<std::string> select_list;
    for (const auto& c : columns)
        select_list.push_back((inserted_side ? c.inserted_expr : c.deleted_expr) + " AS " +
                              QuoteIdent(c.name));
    const BaseRelation& rel = view.relations.front();
    std::string sql = "SELECT " + Join(select_list, ", ") + " FROM " + from_item + " AS " + rel.alias;
    if (!view.where_sql.empty()) sql += " WHERE " + view.where_sql;
    std::vector<std::string> grouping = GroupingExpressions(view);
    if (!grouping.empty()) sql += " GROUP BY " + Join(grouping, ", ");
    return sql;
}

std::string CombineExpr(const DeltaColumn& c, const std::string& qualifier) {
    const std::string ref = ColumnRef(qualifier, c.name);
    switch (c.combine) {
        case Combine::GroupBy:
            return ref;
        case Combine::Sum:
            return "CAST(sum(" + ref + ") AS " + c.type + ")";
        case Combine::Min:
            return Call("min", ref);
        case Combine::Max:
            return Call("max", ref);
    }
    return ref;
}

// The "lost extreme" test: the deleted rows held a value that may have been
// the stored extreme, and no inserted value is at least as extreme.
std::string LostExpr(const Aggregate& agg, const std::string& ins, const std::string& del) {
    const char* beats = agg.kind == AggregateKind::Min ? " > " : " < ";
    return "(" + del + " IS NOT NULL AND (" + ins + " IS NULL OR " + ins + beats + del + "))";
}

std::string LostFromDelta(const Aggregate& agg, size_t i, const std::string& q) {
    return LostExpr(agg, ColumnRef(q, InsertedExtreme(i)), ColumnRef(q, DeletedExtreme(i)));
}

// The value of output column c for a delta row: the final value for a group
// that the IMMV does not hold yet.
std::string OutputFromDelta(const OutputColumn& c, size_t i, const std::string& q) {
    if (c.role != ColumnRole::Aggregate) return ColumnRef(q, c.name);
    const Aggregate& agg = *c.aggregate;
    const std::string nn = ColumnRef(q, NonNullCountColumn(i));
    switch (agg.kind) {
        case AggregateKind::Avg: {
            const AvgState state = *AvgStateFor(agg.argument_type);
            return "CASE WHEN " + nn + " = 0 THEN NULL ELSE CAST(" + ColumnRef(q, AvgSumColumn(i)) +
                   " / CAST(" + nn + " AS " + state.divisor_type + ") AS " + agg.result_type + ") END";
        }
        case AggregateKind::Min:
        case AggregateKind::Max:
            return "CASE WHEN " + LostFromDelta(agg, i, q) + " THEN " +
                   ColumnRef(q, DeletedExtreme(i)) + " ELSE " + ColumnRef(q, InsertedExtreme(i)) +
                   " END";
        default:
            return ColumnRef(q, c.name);
    }
}

}  // namespace

bool HasExtremes(const ViewDefinition& view) {
    for (const auto& c : view.columns)
        if (c.aggregate && IsExtreme(c.aggregate->kind)) return true;
    return false;
}

std::vector<std::string> GroupingExpressions(const ViewDefinition& view) {
    std::vector<std::string> grouping;
    for (const auto& c : view.columns)
        if (c.role == ColumnRole::GroupKey || c.role == ColumnRole::Derived ||
            (c.role == ColumnRole::Plain && IsKeyed(view.shape)))
            grouping.push_back(c.expression_sql);
    return grouping;
}

std::vector<DeltaColumn> DeltaColumns(const ViewDefinition& view) {
    std::vector<DeltaColumn> out;
    for (const auto& c : view.columns)
        if (c.role != ColumnRole::Aggregate)
            out.push_back({c.name, c.expression_sql, c.expression_sql, Combine::GroupBy, c.type_sql});
    AddSigned(out, MultiplicityColumn(), "count(*)", "bigint");
    for (size_t i = 0; i < view.columns.size(); ++i)
        if (view.columns[i].role == ColumnRole::Aggregate) AddAggregateColumns(out, view.columns[i], i);
    return out;
}

std::string DeltaQuery(const ViewDefinition& view, const DeltaSource& delta) {
    const std::vector<DeltaColumn> columns = DeltaColumns(view);
    const bool has_inserted = !delta.inserted.empty();
    const bool has_deleted = !delta.deleted.empty();
    if (has_inserted != has_deleted)
        return SideSelect(view, columns, has_inserted ? delta.inserted : delta.deleted, has_inserted);

    const std::string u = "__ivm_u";
    std::vector<std::string> select_list;
    std::vector<std::string> group_by;
    for (const auto& c : columns) {
        select_list.push_back(CombineExpr(c, u) + " AS " + QuoteIdent(c.name));
        if (c.combine == Combine::GroupBy) group_by.push_back(ColumnRef(u, c.name));
    }
    std::string sql = "SELECT " + Join(select_list, ", ") + " FROM (" +
                      SideSelect(view, columns, delta.inserted, true) + " UNION ALL " +
                      SideSelect(view, columns, delta.deleted, false) + ") AS " + u;
    if (!group_by.empty()) sql += " GROUP BY " + Join(group_by, ", ");
    return sql;
}

std::vector<ProjectedColumn> ProjectDelta(const ViewDefinition& view, const std::string& q) {
    std::vector<ProjectedColumn> out;
    for (const TableColumn& t : TableLayout(view)) {
        switch (t.kind) {
            case TableColumn::Kind::Output:
                out.push_back({t.name, OutputFromDelta(view.columns[t.index], t.index, q)});
                break;
            case TableColumn::Kind::Multiplicity:
            case TableColumn::Kind::NonNullCount:
            case TableColumn::Kind::AvgSum:
                out.push_back({t.name, ColumnRef(q, t.name)});
                break;
            case TableColumn::Kind::LostExtreme:
                out.push_back({t.name, LostFromDelta(*view.columns[t.index].aggregate, t.index, q)});
                break;
        }
    }
    // An aggregate view without GROUP BY is updated from the projected delta
    // directly, so the lost-extreme flags travel along without being stored.
    if (view.shape == ViewShape::GlobalAggregate)
        for (size_t i = 0; i < view.columns.size(); ++i)
            if (view.columns[i].aggregate && IsExtreme(view.columns[i].aggregate->kind))
                out.push_back({LostExtremeColumn(i), LostFromDelta(*view.columns[i].aggregate, i, q)});
    return out;
}

std::string MatchExpr(const std::string& lhs, const std::string& rhs, bool not_null) {
    if (not_null) return lhs + " = " + rhs;
    return "(" + lhs + " = " + rhs + " OR (" + lhs + " IS NULL AND " + rhs + " IS NULL))";
}

std::string AddNullable(const std::string& a, const std::string& b) {
    return "CASE WHEN " + a + " IS NULL THEN " + b + " WHEN " + b + " IS NULL THEN " + a +
           " ELSE " + a + " + " + b + " END";
}

}  // namespace ivmx::core
