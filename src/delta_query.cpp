// Aggregated deltas of keyed and aggregate views (see include/ivmx/core/delta_query.hpp).
//
// A delta is a Z-set: every row of a delta stream counts +1 or -1. The
// streams are reduced to the columns aggregation needs and unioned with
// their sign; counters and sums are linear, so each group's change is the
// sum over positive rows minus the sum over negative rows. min/max are not
// linear: the delta carries the extreme inserted and the extreme deleted
// value, and the apply step decides whether the stored extreme survives or
// must be recomputed. bit_and/bit_or are kept the same way: the delta
// carries the fold of the inserted values, and any deleted non-null value
// may have changed the group's result, which is then recomputed. bit_xor's
// delta is the xor of all its inputs, inserted or deleted alike (xor undoes
// itself). Aggregates recomputed on every change (string_agg, array_agg,
// the JSON aggregates, variances over floats) carry how many inputs of the
// group the delta has.
#include "ivmx/core/delta_query.hpp"

#include <algorithm>
#include <cctype>

#include "ivmx/core/aggregate_rules.hpp"
#include "ivmx/core/distinct_values.hpp"
#include "ivmx/core/aggregate_sql.hpp"
#include "ivmx/core/join_tree.hpp"
#include "ivmx/core/set_operation.hpp"
#include "ivmx/core/sql_text.hpp"

namespace ivmx::core {

std::string InsertedExtreme(size_t i) {
    return "__ivm_ins_" + std::to_string(i + 1) + "__";
}
std::string DeletedExtreme(size_t i) {
    return "__ivm_del_" + std::to_string(i + 1) + "__";
}

namespace {

const char* kSign = "__ivm_sign";

std::string ArgumentColumn(size_t i) {
    return "__ivm_arg_" + std::to_string(i + 1) + "__";
}
std::string TouchedColumn(size_t i) {
    return "__ivm_touched_" + std::to_string(i + 1) + "__";
}

bool IsBitwise(AggregateKind kind) {
    return kind == AggregateKind::BitAnd || kind == AggregateKind::BitOr;
}

// The argument as it is accumulated (avg sums some types in a wider type;
// an aggregate whose inputs are rows counts 1 per row); NULL for rows that
// FILTER leaves out, as aggregates skip NULL inputs (count(*) FILTER counts
// the rows whose argument 1 is not NULL).
std::string AccumulatedArgument(const Aggregate& agg) {
    std::string arg = agg.kind == AggregateKind::CountStar || CountsRows(agg.kind) ? "1" : agg.argument_sql;
    if (agg.kind == AggregateKind::Avg) {
        const AvgState state = *AvgStateFor(agg.argument_type);
        if (!state.sum_argument_type.empty()) arg = "CAST(" + arg + " AS " + state.sum_argument_type + ")";
    }
    if (agg.filter_sql.empty()) return arg;
    return "CASE WHEN (" + agg.filter_sql + ") THEN " + arg + " END";
}

std::string Filtered(const std::string& aggregate, const std::string& condition) {
    return aggregate + " FILTER (WHERE " + condition + ")";
}

std::string Positive() {
    return std::string(kSign) + " > 0";
}
std::string Negative() {
    return std::string(kSign) + " < 0";
}

// Sum over positive rows minus sum over negative rows; NULL when both are.
std::string SignedSum(const std::string& arg, const std::string& type) {
    const std::string plus = Filtered("sum(" + arg + ")", Positive());
    const std::string minus = Filtered("sum(" + arg + ")", Negative());
    // (x * -1) rather than -x: money has no unary minus.
    return "CAST(CASE WHEN " + minus + " IS NULL THEN " + plus + " WHEN " + plus + " IS NULL THEN (" + minus +
           " * -1) ELSE " + plus + " - " + minus + " END AS " + type + ")";
}

// Net number of rows (with a non-null arg, if given).
std::string SignedCount(const std::string& arg) {
    if (arg.empty()) return "CAST(COALESCE(sum(" + std::string(kSign) + "), 0) AS bigint)";
    return "CAST(COALESCE(" + Filtered("sum(" + std::string(kSign) + ")", arg + " IS NOT NULL") + ", 0) AS bigint)";
}

struct AggregatedColumn {
    std::string name;
    std::string expr;
};

void AddAggregateColumns(std::vector<AggregatedColumn>& out, const OutputColumn& column, size_t i) {
    const Aggregate& agg = *column.aggregate;
    const std::string arg = ArgumentColumn(i);
    if (agg.kind == AggregateKind::CountStar || agg.kind == AggregateKind::Count) {
        out.push_back(
            {column.name, SignedCount(agg.kind == AggregateKind::Count || !agg.filter_sql.empty() ? arg : "")});
        return;
    }
    switch (StrategyOf(agg)) {
        case AggregateStrategy::Count:
            break;
        case AggregateStrategy::Sum:
            if (agg.kind == AggregateKind::Sum)
                out.push_back({column.name, SignedSum(arg, agg.result_type)});
            else
                out.push_back({AvgSumColumn(i), SignedSum(arg, AvgStateFor(agg.argument_type)->sum_type)});
            break;
        case AggregateStrategy::Truth:
            out.push_back({TrueCountColumn(i),
                           "CAST(COALESCE(" + Filtered("sum(" + std::string(kSign) + ")", arg) + ", 0) AS bigint)"});
            break;
        case AggregateStrategy::Moments:
            out.push_back({AvgSumColumn(i), SignedSum(VarInput(arg), "numeric")});
            out.push_back({SquareSumColumn(i), SignedSum(VarInput(arg) + " * " + VarInput(arg), "numeric")});
            if (IsNumericMoments(agg)) out.push_back({DeletedExtreme(i), Filtered("min(" + arg + ")", Negative())});
            break;
        case AggregateStrategy::Xor:
            // Inserted and deleted inputs alike: xor undoes itself.
            out.push_back({column.name, "bit_xor(" + arg + ")"});
            break;
        case AggregateStrategy::Fold: {
            const std::string fn = AggregateFunctionName(agg.kind) + "(" + arg + ")";
            out.push_back({InsertedExtreme(i), Filtered(fn, Positive())});
            out.push_back({DeletedExtreme(i), Filtered(fn, Negative())});
            break;
        }
        case AggregateStrategy::Recompute:
            out.push_back({TouchedColumn(i), "count(" + arg + ")"});
            break;
    }
    out.push_back({NonNullCountColumn(i), SignedCount(arg)});
}

// For a sum that tracks its display scale: the largest scale inserted and
// deleted, kept like the extremes of max().
void AddScaleColumns(std::vector<AggregatedColumn>& out, const Aggregate& agg, size_t i) {
    if (!TracksScale(agg)) return;
    const std::string fn = "max(scale(" + ArgumentColumn(i) + "))";
    out.push_back({InsertedExtreme(i), Filtered(fn, Positive())});
    out.push_back({DeletedExtreme(i), Filtered(fn, Negative())});
}

// A DISTINCT aggregate changes by the values its group gained (+1) and lost
// (-1): the rows WithDistinctTransitions adds, in which GainedColumn(j) and
// GainedValueColumn(j) are set.
void AddDistinctColumns(std::vector<AggregatedColumn>& out, const ViewDefinition& view, size_t i) {
    const Aggregate& agg = *view.columns[i].aggregate;
    const size_t j = DistinctValuesOf(view, agg);
    const std::string dd = QuoteIdent(GainedColumn(j)), x = QuoteIdent(GainedValueColumn(j));
    const std::string gained = "CAST(COALESCE(sum(" + dd + "), 0) AS bigint)";
    if (agg.kind == AggregateKind::Count) {
        out.push_back({view.columns[i].name, gained});
        return;
    }
    const bool avg = agg.kind == AggregateKind::Avg;
    std::string value = x;
    if (avg && !AvgStateFor(agg.argument_type)->sum_argument_type.empty())
        value = "CAST(" + x + " AS " + AvgStateFor(agg.argument_type)->sum_argument_type + ")";
    const std::string type = avg ? AvgStateFor(agg.argument_type)->sum_type : agg.result_type;
    out.push_back(
        {avg ? AvgSumColumn(i) : view.columns[i].name, "CAST(sum(" + dd + " * " + value + ") AS " + type + ")"});
    out.push_back({NonNullCountColumn(i), gained});
    if (!TracksScale(agg)) return;
    out.push_back({InsertedExtreme(i), Filtered("max(scale(" + x + "))", dd + " > 0")});
    out.push_back({DeletedExtreme(i), Filtered("max(scale(" + x + "))", dd + " < 0")});
}

bool Selected(const DeltaStream& stream, StreamSign which) {
    return which == StreamSign::Any || (which == StreamSign::Positive) == (stream.sign > 0);
}

// The "lost extreme" test: the deleted rows held a value that may have been
// the stored extreme, and no inserted value is known to replace it. When the
// delta may hold cancelling pairs (a row inserted and deleted within one
// batch), an inserted value equal to the deleted one proves nothing: it may
// be the very row that was deleted again.
// For a sum that tracks its display scale, the extreme is the largest scale
// of its inputs (a max); a scale of 0 cannot be lost, none is smaller.
// bit_and/bit_or have no order to tell: any deleted non-null value may have
// contributed bits (bit_or) or cleared them (bit_and).
std::string LostExpr(const Aggregate& agg, const std::string& ins, const std::string& del, bool cancelling) {
    if (IsBitwise(agg.kind) || IsNumericMoments(agg)) return "(" + del + " IS NOT NULL)";
    const bool is_min = agg.kind == AggregateKind::Min;
    const char* beats = cancelling ? (is_min ? " >= " : " <= ") : (is_min ? " > " : " < ");
    const std::string positive = TracksScale(agg) ? " AND " + del + " > 0" : "";
    return "(" + del + " IS NOT NULL" + positive + " AND (" + ins + " IS NULL OR " + ins + beats + del + "))";
}

// Aggregates recomputed on every change are lost whenever the delta has an
// input of their group, inserted or deleted.
std::string LostFromDelta(const Aggregate& agg, size_t i, const std::string& q, bool cancelling) {
    if (StrategyOf(agg) == AggregateStrategy::Recompute) return "(" + QualifiedColumn(q, TouchedColumn(i)) + " > 0)";
    return LostExpr(agg, QualifiedColumn(q, InsertedExtreme(i)), QualifiedColumn(q, DeletedExtreme(i)), cancelling);
}

// The value of aggregate column i for a delta row: the final value for a
// group that the IMMV does not hold yet.
std::string AggregateFromDelta(const OutputColumn& c, size_t i, const std::string& q, bool cancelling) {
    const Aggregate& agg = *c.aggregate;
    const std::string nn = QualifiedColumn(q, NonNullCountColumn(i));
    switch (agg.kind) {
        case AggregateKind::Avg: {
            const AvgState state = *AvgStateFor(agg.argument_type);
            return "CASE WHEN " + nn + " = 0 THEN NULL ELSE CAST(" + QualifiedColumn(q, AvgSumColumn(i)) + " / CAST(" +
                   nn + " AS " + state.divisor_type + ") AS " + agg.result_type + ") END";
        }
        case AggregateKind::Sum: {
            // A group the IMMV does not hold yet whose non-null values cancel
            // each other (+v and -v of one batch) has a NULL sum, not 0. For a
            // group it holds, this value is added to the stored sum, where a
            // NULL adds nothing, as the 0 it replaces would (x * 0: a zero of
            // the sum's own type, interval and money included).
            // A NaN is no zero (though NaN = NaN * 0 holds): it must reach the
            // stored sum, which is then recomputed (+Infinity and -Infinity
            // of one batch make a NaN).
            const std::string sum = QualifiedColumn(q, c.name);
            const std::string not_nan = MayBeNonFinite(agg) ? " AND " + sum + " - " + sum + " = 0" : "";
            return "CASE WHEN " + nn + " = 0 AND " + sum + " = " + sum + " * 0" + not_nan + " THEN NULL ELSE " + sum +
                   " END";
        }
        case AggregateKind::BoolAnd:
        case AggregateKind::BoolOr:
            return BoolFromCounts(agg, QualifiedColumn(q, NonNullCountColumn(i)),
                                  QualifiedColumn(q, TrueCountColumn(i)));
        case AggregateKind::VarPop:
        case AggregateKind::VarSamp:
        case AggregateKind::StddevPop:
        case AggregateKind::StddevSamp: {
            // Over floats recomputed: NULL until then.
            if (StrategyOf(agg) == AggregateStrategy::Recompute) return "CAST(NULL AS " + agg.result_type + ")";
            const std::string value =
                MomentsValue(agg, nn, QualifiedColumn(q, AvgSumColumn(i)), QualifiedColumn(q, SquareSumColumn(i)));
            if (!IsNumericMoments(agg)) return value;
            return "CASE WHEN " + LostFromDelta(agg, i, q, cancelling) + " THEN NULL ELSE " + value + " END";
        }
        case AggregateKind::BitXor: {
            // As a sum: a new group whose inputs cancel each other has no
            // value (xor with itself is zero); added to a stored value, a
            // NULL changes nothing, as the zero it replaces would not.
            const std::string x = QualifiedColumn(q, c.name);
            return "CASE WHEN " + nn + " = 0 AND " + x + " = " + x + " # " + x + " THEN NULL ELSE " + x + " END";
        }
        case AggregateKind::StringAgg:
        case AggregateKind::ArrayAgg:
        case AggregateKind::JsonAgg:
        case AggregateKind::JsonbAgg:
        case AggregateKind::JsonbObjectAgg:
            // Recomputed from the base: NULL until then.
            return "CAST(NULL AS " + agg.result_type + ")";
        case AggregateKind::BitAnd:
        case AggregateKind::BitOr:
            // A lost fold is recomputed: its value is unknown meanwhile.
            return "CASE WHEN " + LostFromDelta(agg, i, q, cancelling) + " THEN NULL ELSE " +
                   QualifiedColumn(q, InsertedExtreme(i)) + " END";
        case AggregateKind::Min:
        case AggregateKind::Max:
            return "CASE WHEN " + LostFromDelta(agg, i, q, cancelling) + " THEN " +
                   QualifiedColumn(q, DeletedExtreme(i)) + " ELSE " + QualifiedColumn(q, InsertedExtreme(i)) + " END";
        default:
            return QualifiedColumn(q, c.name);
    }
}

// The value of output column i for a delta row. An expression over
// aggregates is not evaluated over a delta (its values are a change, unless
// the group is new, and may make it fail): it is NULL, and evaluated once
// its row holds the group's state.
std::string OutputFromDelta(const ViewDefinition& view, size_t i, const std::string& q, bool cancelling) {
    const OutputColumn& c = view.columns[i];
    if (IsKeyColumn(c)) return QualifiedColumn(q, c.name);
    if (c.role == ColumnRole::Aggregate) return AggregateFromDelta(c, i, q, cancelling);
    return c.type_sql.empty() ? "NULL" : "CAST(NULL AS " + c.type_sql + ")";
}

// The lost flag of aggregate column c (index i) for a delta row. A tracked
// sum whose inputs cancel (no non-null input more, a sum of 0) is NULL in
// the delta row, as a new group's sum must be: the largest scale inserted
// is then not in the row, and an existing group whose inputs took a larger
// scale (2 updated to 2.000) is recomputed.
std::string LostFlagFromDelta(const OutputColumn& c, size_t i, const std::string& q, bool cancelling) {
    const Aggregate& agg = *c.aggregate;
    const std::string lost = LostFromDelta(agg, i, q, cancelling);
    if (!TracksScale(agg) || agg.kind != AggregateKind::Sum) return lost;
    const std::string sum = QualifiedColumn(q, c.name);
    return "(" + lost + " OR (" + QualifiedColumn(q, NonNullCountColumn(i)) + " = 0 AND " + sum + " = " + sum +
           " * 0 AND COALESCE(" + QualifiedColumn(q, InsertedExtreme(i)) + " > " +
           QualifiedColumn(q, DeletedExtreme(i)) + ", false)))";
}

}  // namespace

bool NeedsRecompute(const ViewDefinition& view) {
    for (const auto& c : view.columns)
        if (c.aggregate && IsRecomputed(*c.aggregate)) return true;
    return false;
}

bool HasExtremes(const ViewDefinition& view) {
    for (const auto& c : view.columns)
        if (c.aggregate && StrategyOf(*c.aggregate) == AggregateStrategy::Fold) return true;
    return false;
}

namespace {

// Whether PostgreSQL's parser reads the text as a bare literal constant
// (5, 1.5, true), which GROUP BY takes for a select-list position (or
// rejects as a non-integer constant) instead of a value to group by. The
// deparser writes integer, numeric and boolean constants so; others carry
// a cast ('x'::text, '-5'::integer).
bool IsBareLiteral(const std::string& sql) {
    if (sql == "true" || sql == "false") return true;
    if (sql.empty() || !std::isdigit(static_cast<unsigned char>(sql[0]))) return false;
    for (char ch : sql)
        if (!std::isdigit(static_cast<unsigned char>(ch)) && ch != '.' && ch != 'e' && ch != 'E' && ch != '+' &&
            ch != '-')
            return false;
    return true;
}

}  // namespace

std::string GroupingItem(const OutputColumn& column) {
    if (!IsBareLiteral(column.expression_sql) || column.type_sql.empty()) return column.expression_sql;
    return "CAST(" + column.expression_sql + " AS " + column.type_sql + ")";
}

bool RecomputesOnEveryChange(const ViewDefinition& view) {
    for (const auto& c : view.columns)
        if (c.aggregate && StrategyOf(*c.aggregate) == AggregateStrategy::Recompute) return true;
    return false;
}

bool MayRecompute(const ViewDefinition& view, const Delta& delta) {
    return NeedsRecompute(view) && (delta.HasNegative() || RecomputesOnEveryChange(view));
}

std::vector<std::string> GroupingExpressions(const ViewDefinition& view) {
    std::vector<std::string> grouping;
    for (const auto& c : view.columns)
        if (c.role == ColumnRole::GroupKey || (c.role == ColumnRole::Plain && IsKeyed(view.shape)))
            grouping.push_back(GroupingItem(c));
    return grouping;
}

std::vector<StreamColumn> StreamColumns(const ViewDefinition& view) {
    std::vector<StreamColumn> out;
    for (const auto& c : view.columns)
        if (IsKeyColumn(c)) out.push_back({c.name, c.expression_sql});
    for (size_t i = 0; i < view.columns.size(); ++i) {
        const auto& agg = view.columns[i].aggregate;
        // (DISTINCT aggregates read the values gained and lost instead.)
        if (agg && !CountsDistinctValues(*agg) && (agg->kind != AggregateKind::CountStar || !agg->filter_sql.empty()))
            out.push_back({ArgumentColumn(i), AccumulatedArgument(*agg)});
    }
    return out;
}

std::string FromList(const ViewDefinition& view, const std::vector<std::string>& sources) {
    if (!view.branches.empty()) return SetOperationFrom(view, sources);
    if (view.join_tree) return JoinTreeFrom(view);  // only ever asked for the current state
    std::vector<std::string> items;
    for (size_t i = 0; i < view.relations.size(); ++i) items.push_back(sources[i] + " AS " + view.relations[i].alias);
    for (const auto& constant : view.constants) items.push_back(ConstantFromItem(constant));
    // A view without a FROM list (SELECT 1) reads one row, as SQL does.
    std::string sql = items.empty() ? "" : " FROM " + Join(items, ", ");
    if (!view.where_sql.empty()) sql += " WHERE " + view.where_sql;
    return sql;
}

std::vector<std::string> BaseSources(const ViewDefinition& view) {
    std::vector<std::string> sources;
    for (const auto& rel : view.relations) sources.push_back(QuoteQualified(rel.name));
    return sources;
}

std::string FromBase(const ViewDefinition& view) {
    return FromList(view, BaseSources(view));
}

std::string MoreConditions(const ViewDefinition& view) {
    // A join tree's FROM clause always ends in a WHERE clause (JoinTreeFrom).
    return view.join_tree || !view.where_sql.empty() ? " AND " : " WHERE ";
}

std::vector<KeyColumn> KeyColumns(const ViewDefinition& view) {
    std::vector<KeyColumn> keys;
    for (const auto& c : view.columns)
        if (IsKeyColumn(c)) keys.push_back({c.name, c.expression_sql, c.not_null});
    return keys;
}

std::string StreamUnion(const ViewDefinition& view, const std::vector<StreamColumn>& columns, const Delta& delta,
                        StreamSign which, bool with_sign) {
    std::vector<std::string> selects;
    for (const auto& stream : delta.streams) {
        if (!Selected(stream, which)) continue;
        std::vector<std::string> list;
        for (const auto& c : columns) list.push_back(c.expr + " AS " + QuoteIdent(c.name));
        if (with_sign) list.push_back(std::to_string(stream.sign) + " AS " + kSign);
        if (list.empty()) list.push_back("1");
        selects.push_back("SELECT " + Join(list, ", ") +
                          (stream.from_sql.empty() ? FromList(view, stream.sources) : stream.from_sql));
    }
    return Join(selects, " UNION ALL ");
}

std::string DeltaQuery(const ViewDefinition& view, const Delta& delta) {
    const std::vector<StreamColumn> stream_columns = StreamColumns(view);
    const std::string u = "__ivm_u";
    std::vector<std::string> select_list, group_by;
    for (const auto& c : view.columns) {
        if (!IsKeyColumn(c)) continue;
        select_list.push_back(QualifiedColumn(u, c.name) + " AS " + QuoteIdent(c.name));
        group_by.push_back(QualifiedColumn(u, c.name));
    }
    std::vector<AggregatedColumn> aggregated{{MultiplicityColumn(), SignedCount("")}};
    for (size_t i = 0; i < view.columns.size(); ++i) {
        if (view.columns[i].role != ColumnRole::Aggregate) continue;
        if (CountsDistinctValues(*view.columns[i].aggregate)) {
            AddDistinctColumns(aggregated, view, i);
            continue;
        }
        AddAggregateColumns(aggregated, view.columns[i], i);
        AddScaleColumns(aggregated, *view.columns[i].aggregate, i);
    }
    for (const auto& a : aggregated) select_list.push_back(a.expr + " AS " + QuoteIdent(a.name));
    std::vector<std::string> stream_names;
    for (const auto& c : stream_columns) stream_names.push_back(c.name);
    std::string sql =
        "SELECT " + Join(select_list, ", ") + " FROM (" +
        WithDistinctTransitions(view, stream_names, StreamUnion(view, stream_columns, delta, StreamSign::Any, true)) +
        ") AS " + u;
    if (!group_by.empty()) sql += " GROUP BY " + Join(group_by, ", ");
    return sql;
}

std::vector<ProjectedColumn> ProjectDelta(const ViewDefinition& view, const std::string& q, bool cancelling) {
    std::vector<ProjectedColumn> out;
    for (const TableColumn& t : TableLayout(view)) {
        switch (t.kind) {
            case TableColumn::Kind::Output:
                out.push_back({t.name, OutputFromDelta(view, t.index, q, cancelling)});
                break;
            case TableColumn::Kind::Multiplicity:
            case TableColumn::Kind::NonNullCount:
            case TableColumn::Kind::AvgSum:
            case TableColumn::Kind::TrueCount:
            case TableColumn::Kind::VarSum:
            case TableColumn::Kind::SquareSum:
                out.push_back({t.name, QualifiedColumn(q, t.name)});
                break;
            case TableColumn::Kind::LostExtreme:
                out.push_back({t.name, LostFlagFromDelta(view.columns[t.index], t.index, q, cancelling)});
                break;
            case TableColumn::Kind::Unevaluated:
                out.push_back({t.name, "true"});
                break;
        }
    }
    // An aggregate view without GROUP BY is updated from the projected delta
    // directly, so the lost-extreme flags travel along without being stored.
    if (view.shape == ViewShape::GlobalAggregate)
        for (size_t i = 0; i < view.columns.size(); ++i)
            if (view.columns[i].aggregate && HasLostFlag(*view.columns[i].aggregate))
                out.push_back({LostExtremeColumn(i), LostFlagFromDelta(view.columns[i], i, q, cancelling)});
    return out;
}

std::string KeyLookup(const std::string& table, const std::vector<KeyColumn>& keys, const std::string& outer,
                      const std::string& select_list, const std::string& alias, const std::string& also) {
    const std::string l = "__ivm_l";
    std::vector<std::string> equal, null_safe, outer_null;
    for (const auto& k : keys) {
        equal.push_back(QualifiedColumn(l, k.name) + " = " + QualifiedColumn(outer, k.name));
        null_safe.push_back(MatchExpr(QualifiedColumn(l, k.name), QualifiedColumn(outer, k.name), k.not_null));
        if (!k.not_null) outer_null.push_back(QualifiedColumn(outer, k.name) + " IS NULL");
    }
    if (!also.empty()) {
        equal.push_back(also);
        null_safe.push_back(also);
    }
    const std::string from = "SELECT " + select_list + " FROM " + table + " AS " + l;
    std::string sql = from + (equal.empty() ? "" : " WHERE " + Join(equal, " AND "));
    if (!outer_null.empty())
        sql += " UNION ALL " + from + " WHERE (" + Join(outer_null, " OR ") + ") AND " + Join(null_safe, " AND ");
    return "LATERAL (" + sql + ") AS " + alias;
}

std::string MatchExpr(const std::string& lhs, const std::string& rhs, bool not_null) {
    if (not_null) return lhs + " = " + rhs;
    return "(" + lhs + " = " + rhs + " OR (" + lhs + " IS NULL AND " + rhs + " IS NULL))";
}

}  // namespace ivmx::core
