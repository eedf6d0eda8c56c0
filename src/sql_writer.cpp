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
//    then insert the rows of the inserted side; with a key, rows whose key
//    is on both sides are updated in place instead.
#include "ivmx/core/sql_writer.hpp"

#include <algorithm>
#include <functional>

#include "ivmx/core/aggregate_rules.hpp"
#include "ivmx/core/aggregate_sql.hpp"
#include "ivmx/core/delta_query.hpp"
#include "ivmx/core/distinct_values.hpp"
#include "ivmx/core/error.hpp"
#include "ivmx/core/group_filter.hpp"
#include "ivmx/core/set_operation.hpp"
#include "ivmx/core/recompute_sql.hpp"
#include "ivmx/core/sql_text.hpp"

namespace ivmx::core {

namespace {

const char* kImmvAlias = "__ivm_mv";
const char* kDeltaAlias = "__ivm_d";

std::string Immv(const ViewDefinition& view) {
    return QuoteQualified(view.immv);
}

// The populate-query expression of one table column; in the group of
// empty grouping set `kept`, keys take their values there.
std::string PopulateExpr(const ViewDefinition& view, const TableColumn& t, const EmptyGroupingSet* kept = nullptr) {
    const OutputColumn& c = view.columns[t.index];
    switch (t.kind) {
        case TableColumn::Kind::Output:
            if (IsKeyColumn(c)) return kept != nullptr ? kept->key_values[t.index] : c.expression_sql;
            if (c.role == ColumnRole::AggregateExpression)
                return ExpandExpression(c, [&](size_t j) {
                    return PopulateExpr(view, {TableColumn::Kind::Output, j, view.columns[j].name}, kept);
                });
            return AggregateCall(*c.aggregate);
        case TableColumn::Kind::Multiplicity:
            return "count(*)";
        case TableColumn::Kind::Unevaluated:
            return "CAST(NULL AS boolean)";
        default:
            return StateFromBase(*c.aggregate, t.kind);
    }
}

// Whether a group row (qualifier m) whose multiplicity meets `zero` is gone:
// the groups of empty grouping sets stay (KeptGroupCondition).
std::string GoneGroup(const ViewDefinition& view, const std::string& zero, const std::string& m) {
    const std::string kept = KeptGroupCondition(view, m);
    return kept.empty() ? zero : "(" + zero + " AND NOT " + kept + ")";
}

// Whether a group row whose multiplicity meets `nonzero` stays.
std::string LiveGroup(const ViewDefinition& view, const std::string& nonzero, const std::string& m) {
    const std::string kept = KeptGroupCondition(view, m);
    return kept.empty() ? nonzero : "(" + nonzero + " OR " + kept + ")";
}

// The one row of the group of empty grouping set `kept` when no input row
// is in it (else none: the grouped query has it), over `from` (a FROM list
// ending in its conditions) with the select list `select_list`.
std::string KeptGroupRow(const ViewDefinition& view, const EmptyGroupingSet& kept,
                         const std::vector<std::string>& select_list, const std::string& from) {
    return "SELECT " + Join(select_list, ", ") + from + MoreConditions(view) + GroupingSetKey(view).expression_sql +
           " = " + std::to_string(kept.set) + " HAVING count(*) = 0";
}

// The values a stored row (qualifier m) takes when a delta row (qualifier e)
// is added to it, as an ON CONFLICT DO UPDATE or UPDATE sets them: every
// expression reads the stored values only.
class AccumulatedRow {
  public:
    AccumulatedRow(const ViewDefinition& view, std::string m, std::string e) : view_(view), rows_{m, e} {}

    std::string SumOf(const std::string& col, bool nullable = false) const { return rows_.Sum(col, nullable); }
    std::string RunningSumOf(size_t i, const std::string& col) const {
        return RunningSum(*view_.columns[i].aggregate, i, col, rows_);
    }

    // The new value of output column i (keys keep theirs).
    std::string Value(size_t i) const {
        const OutputColumn& c = view_.columns[i];
        if (IsKeyColumn(c)) return rows_.Stored(c.name);
        if (c.role == ColumnRole::AggregateExpression) return ExpressionValue(i);
        return AccumulatedValue(*c.aggregate, i, c.name, rows_);
    }

    // Whether the new value of aggregate column i is stale until recomputed
    // (the conditions StaleExpr finds on the written row).
    std::string Stale(size_t i) const {
        const std::string v = Value(i);
        return StaleCondition(*view_.columns[i].aggregate, v, v, "(" + SumOf(NonNullCountColumn(i)) + ")", "");
    }

    // guard: an expression over a stale aggregate is NULL until recomputed.
    void set_guard(bool guard) { guard_ = guard; }

  private:
    std::string ExpressionValue(size_t i) const {
        const OutputColumn& c = view_.columns[i];
        const std::string value = ExpandExpression(c, [&](size_t j) { return Value(j); });
        std::vector<std::string> stale;
        // A group whose last row goes is deleted next: its expressions are
        // not evaluated over an empty group (count(*) = 0). The group of an
        // empty grouping set stays, and they are.
        if (view_.shape == ViewShape::Grouped)
            stale.push_back(GoneGroup(view_, "(" + SumOf(MultiplicityColumn()) + ") = 0", rows_.m));
        if (guard_)
            for (size_t j : c.operands)
                if (view_.columns[j].aggregate && IsRecomputed(*view_.columns[j].aggregate)) stale.push_back(Stale(j));
        if (stale.empty()) return value;
        return "CASE WHEN " + Join(stale, " OR ") + " THEN NULL ELSE " + value + " END";
    }

    const ViewDefinition& view_;
    RowAndDelta rows_;
    bool guard_ = false;
};

// SET clause entries adding the delta row (qualifier e) to the stored row (m).
std::vector<std::string> AccumulateSetList(const ViewDefinition& view, const std::string& m, const std::string& e,
                                           bool guard) {
    AccumulatedRow row(view, m, e);
    row.set_guard(guard);
    std::vector<std::string> sets;
    auto add = [&](const std::string& col, const std::string& expr) { sets.push_back(QuoteIdent(col) + " = " + expr); };
    for (const TableColumn& t : TableLayout(view)) {
        switch (t.kind) {
            case TableColumn::Kind::Multiplicity:
            case TableColumn::Kind::NonNullCount:
            case TableColumn::Kind::TrueCount:
                add(t.name, row.SumOf(t.name));
                break;
            case TableColumn::Kind::AvgSum:
                add(t.name, row.RunningSumOf(t.index, t.name));
                break;
            case TableColumn::Kind::VarSum:
            case TableColumn::Kind::SquareSum:
                add(t.name, row.SumOf(t.name, true));
                break;
            case TableColumn::Kind::LostExtreme:
            case TableColumn::Kind::Unevaluated:
                add(t.name, "NULL");
                break;
            case TableColumn::Kind::Output:
                // Keys and key-derived columns never change.
                if (!IsKeyColumn(view.columns[t.index])) add(t.name, row.Value(t.index));
                break;
        }
    }
    return sets;
}

// Whether stored aggregate column j (qualifier m) is stale until
// recomputed: a min/max (or a sum's display scale, or an aggregate a change
// reached) to recompute, no value stored although inputs remain, a new
// group inserted from a delta that lost its extreme (its value is then only
// the deleted one, kept for the update path), or a non-finite sum.
std::string StoredStale(const ViewDefinition& view, size_t j, const std::string& m) {
    const OutputColumn& c = view.columns[j];
    const Aggregate& agg = *c.aggregate;
    const std::string sum = QualifiedColumn(m, agg.kind == AggregateKind::Avg ? AvgSumColumn(j) : c.name);
    const std::string lost = view.shape == ViewShape::Grouped ? QualifiedColumn(m, LostExtremeColumn(j)) : "";
    return StaleCondition(agg, QualifiedColumn(m, c.name), sum, QualifiedColumn(m, NonNullCountColumn(j)), lost);
}

// Condition on a freshly written IMMV row (qualifier m) meaning some of its
// aggregates must be recomputed (StoredStale), or its expressions over
// aggregates evaluated.
std::string StaleExpr(const ViewDefinition& view, const std::string& m) {
    std::vector<std::string> terms;
    for (size_t i = 0; i < view.columns.size(); ++i) {
        if (!view.columns[i].aggregate) continue;
        const std::string stale = StoredStale(view, i, m);
        if (!stale.empty()) terms.push_back(stale);
    }
    if (view.shape == ViewShape::Grouped && HasAggregateExpressions(view))
        terms.push_back(QualifiedColumn(m, UnevaluatedColumn()) + " IS TRUE");
    return terms.empty() ? "false" : Join(terms, " OR ");
}

// Adds RETURNING to a data-modifying statement: one (tid, gone, stale) row
// per IMMV row written, telling which need a follow-up step.
std::string ReportRows(const std::string& dml, const std::string& gone, const std::string& stale) {
    return dml + " RETURNING " + kImmvAlias + ".ctid AS tid, " + gone + " AS gone, " + stale + " AS stale";
}

// Whether the rows a delta writes are recomputed when stale: expressions
// over aggregates that may be stale are then written NULL meanwhile.
bool GuardsExpressions(const ViewDefinition& view, const Delta& delta) {
    return MayRecompute(view, delta);
}

std::string ProjectionSelect(const ViewDefinition& view, const Delta& delta) {
    std::vector<std::string> select_list;
    for (const auto& p : ProjectDelta(view, kDeltaAlias, delta.consolidate))
        select_list.push_back(p.expr + " AS " + QuoteIdent(p.name));
    return "SELECT " + Join(select_list, ", ") + " FROM (" + DeltaQuery(view, delta) + ") AS " + kDeltaAlias;
}

MaintenanceStep KeyedUpsert(const ViewDefinition& view, const Delta& delta) {
    const std::string m = kImmvAlias;
    // Group rows are locked in key order: two transactions whose deltas
    // share groups lock them in the same order, and cannot deadlock on them.
    // (The identity columns have a unique btree index: they are ordered.)
    std::string sql = "INSERT INTO " + Immv(view) + " AS " + m + " (" + Join(QuoteIdents(TableColumns(view)), ", ") +
                      ") " + ProjectionSelect(view, delta) + " ORDER BY " +
                      Join(QuoteIdents(IdentityColumns(view)), ", ") + " ON CONFLICT (" +
                      Join(QuoteIdents(IdentityColumns(view)), ", ") + ") DO UPDATE SET " +
                      Join(AccumulateSetList(view, m, "excluded", GuardsExpressions(view, delta)), ", ");
    // New groups are reported stale too while their expressions over
    // aggregates are unevaluated (EvaluateExpressions).
    if (!MayRecompute(view, delta) && !delta.HasNegative() && !HasAggregateExpressions(view))
        return {sql, StepInput::None, false};
    // A gone row is not also stale: the recompute would give it a new
    // ctid, and the deletion of gone rows by ctid would then miss it.
    const std::string count = QualifiedColumn(m, MultiplicityColumn());
    return {ReportRows(sql, GoneGroup(view, count + " = 0", m),
                       LiveGroup(view, count + " <> 0", m) + " AND (" + StaleExpr(view, m) + ")"),
            StepInput::None, true};
}

// Evaluates the expressions over aggregates of the group rows listed in $1
// (the new groups the upsert inserted with them unevaluated, and the rows it
// reported stale) over their stored state. guard: RecomputeAggregates comes
// next (the delta removed rows), and an expression over an aggregate that
// may be stale is NULL until then; without it, every stored value is exact
// (a non-finite sum of inserted values too). Reports
// the rows again (they moved): the recompute reads them by their new ctid.
// Rows whose multiplicity reached zero are left to DeleteGoneRows (but for
// the groups of empty grouping sets, which stay).
MaintenanceStep EvaluateExpressions(const ViewDefinition& view, bool guard) {
    const std::string m = kImmvAlias;
    std::vector<std::string> sets;
    for (size_t i = 0; i < view.columns.size(); ++i) {
        const OutputColumn& c = view.columns[i];
        if (c.role != ColumnRole::AggregateExpression) continue;
        std::vector<std::string> stale;
        if (guard)
            for (size_t j : c.operands)
                if (view.columns[j].aggregate && IsRecomputed(*view.columns[j].aggregate))
                    stale.push_back(StoredStale(view, j, m));
        const std::string value =
            ExpandExpression(c, [&](size_t j) { return QualifiedColumn(m, view.columns[j].name); });
        sets.push_back(
            QuoteIdent(c.name) + " = " +
            (stale.empty() ? value : "CASE WHEN " + Join(stale, " OR ") + " THEN NULL ELSE " + value + " END"));
    }
    sets.push_back(QuoteIdent(UnevaluatedColumn()) + " = NULL");
    return {
        ReportRows("UPDATE " + Immv(view) + " AS " + m + " SET " + Join(sets, ", ") + " WHERE " + m +
                       ".ctid = ANY ($1) AND " + LiveGroup(view, QualifiedColumn(m, MultiplicityColumn()) + " > 0", m),
                   "false", StaleExpr(view, m)),
        StepInput::TidsToRecompute, true};
}

MaintenanceStep GlobalUpdate(const ViewDefinition& view, const Delta& delta) {
    const std::string m = kImmvAlias, e = "__ivm_e";
    std::string sql = "UPDATE " + Immv(view) + " AS " + m + " SET " +
                      Join(AccumulateSetList(view, m, e, GuardsExpressions(view, delta)), ", ") + " FROM (" +
                      ProjectionSelect(view, delta) + ") AS " + e;
    if (!MayRecompute(view, delta)) return {sql, StepInput::None, false};
    return {ReportRows(sql, "false", StaleExpr(view, m)), StepInput::None, true};
}

// Recomputes from the base relations, in one statement, the min/max and
// possibly non-finite sums of the IMMV rows listed in $1, and the
// expressions over them.
// The columns a recompute of stale group rows writes: every aggregate
// that may be recomputed (IsRecomputed), with the running sums kept beside
// it, and the lost flags it clears.
struct RecomputedColumns {
    std::vector<std::string> targets, values, clear;
    // Per view column: the position in `values` of its recomputed value.
    std::vector<std::optional<size_t>> position;
};

RecomputedColumns CollectRecomputed(const ViewDefinition& view) {
    RecomputedColumns out;
    out.position.resize(view.columns.size());
    for (size_t i = 0; i < view.columns.size(); ++i) {
        const auto& agg = view.columns[i].aggregate;
        if (!agg || !IsRecomputed(*agg)) continue;
        out.position[i] = out.values.size();
        out.targets.push_back(QuoteIdent(view.columns[i].name));
        out.values.push_back(AggregateCall(*agg));
        for (TableColumn::Kind kind : StateKinds(*agg, view.shape)) {
            if (kind == TableColumn::Kind::AvgSum || kind == TableColumn::Kind::VarSum ||
                kind == TableColumn::Kind::SquareSum) {
                out.targets.push_back(QuoteIdent(StateColumnName(kind, i)));
                out.values.push_back(StateFromBase(*agg, kind));
            }
            if (kind == TableColumn::Kind::LostExtreme)
                out.clear.push_back(", " + QuoteIdent(LostExtremeColumn(i)) + " = NULL");
        }
    }
    return out;
}

MaintenanceStep RecomputeAggregates(const ViewDefinition& view, const Delta& delta) {
    const std::string m = kImmvAlias;
    RecomputedColumns columns = CollectRecomputed(view);
    std::vector<std::string>& targets = columns.targets;
    const std::vector<std::string>& values = columns.values;
    std::vector<std::string>& clear = columns.clear;
    const std::vector<std::optional<size_t>>& recomputed = columns.position;
    // Expressions over a recomputed aggregate, evaluated over its new value
    // (value_of) and the stored values of the other columns they read.
    std::vector<size_t> expressions;
    for (size_t i = 0; i < view.columns.size(); ++i) {
        const OutputColumn& c = view.columns[i];
        if (c.role != ColumnRole::AggregateExpression) continue;
        for (size_t j : c.operands)
            if (recomputed[j]) {
                expressions.push_back(i);
                targets.push_back(QuoteIdent(c.name));
                break;
            }
    }
    auto expression_values = [&](const std::function<std::string(size_t)>& value_of) {
        std::vector<std::string> out;
        for (size_t i : expressions)
            out.push_back(ExpandExpression(view.columns[i], [&](size_t j) {
                return recomputed[j] ? value_of(*recomputed[j]) : QualifiedColumn(m, view.columns[j].name);
            }));
        return out;
    };
    std::vector<const OutputColumn*> keys;
    for (const auto& c : view.columns)
        if (c.role == ColumnRole::GroupKey || (c.role == ColumnRole::Plain && IsKeyed(view.shape))) keys.push_back(&c);
    if (view.shape == ViewShape::Grouped && HasAggregateExpressions(view))
        clear.push_back(", " + QuoteIdent(UnevaluatedColumn()) + " = NULL");
    const std::string lhs = targets.size() == 1 ? targets[0] : "(" + Join(targets, ", ") + ")";
    if (!delta.base_as_of.empty()) {
        // The relations as of a batch's end are a set operation over the
        // whole relation: computed once, for every group, and joined to the
        // rows to recompute (a subquery per row would compute it per row).
        std::vector<std::string> outputs, grouping, match, assigned;
        for (size_t k = 0; k < keys.size(); ++k) {
            const std::string name = "__ivm_k" + std::to_string(k);
            outputs.push_back(keys[k]->expression_sql + " AS " + name);
            grouping.push_back(GroupingItem(*keys[k]));
            match.push_back(
                MatchExpr(QualifiedColumn("__ivm_r", name), QualifiedColumn(m, keys[k]->name), keys[k]->not_null));
        }
        auto value_column = [](size_t v) { return "__ivm_r.__ivm_v" + std::to_string(v); };
        for (size_t v = 0; v < values.size(); ++v) {
            outputs.push_back(values[v] + " AS __ivm_v" + std::to_string(v));
            assigned.push_back(value_column(v));
        }
        for (auto& e : expression_values(value_column)) assigned.push_back(std::move(e));
        std::string recomputed_rows = "SELECT " + Join(outputs, ", ") + FromList(view, delta.base_as_of) +
                                      (grouping.empty() ? "" : " GROUP BY " + Join(grouping, ", "));
        // The groups of empty grouping sets have a row over no input too.
        for (const auto& kept : view.empty_grouping_sets) {
            std::vector<std::string> kept_outputs;
            for (size_t k = 0; k < keys.size(); ++k)
                kept_outputs.push_back(kept.key_values[size_t(keys[k] - view.columns.data())] + " AS __ivm_k" +
                                       std::to_string(k));
            for (size_t v = 0; v < values.size(); ++v)
                kept_outputs.push_back(values[v] + " AS __ivm_v" + std::to_string(v));
            recomputed_rows += " UNION ALL " + KeptGroupRow(view, kept, kept_outputs, FromList(view, delta.base_as_of));
        }
        const std::string rhs = assigned.size() == 1 ? assigned[0] : "(" + Join(assigned, ", ") + ")";
        return {"UPDATE " + Immv(view) + " AS " + m + " SET " + lhs + " = " + rhs + Join(clear, "") + " FROM (" +
                    recomputed_rows + ") AS __ivm_r WHERE " + m + ".ctid = ANY ($1)" +
                    (match.empty() ? "" : " AND " + Join(match, " AND ")),
                StepInput::TidsToRecompute, false};
    }
    std::vector<std::string> selected = values;
    for (auto& e : expression_values([&](size_t v) { return values[v]; })) selected.push_back(std::move(e));
    std::string subquery = "SELECT " + Join(selected, ", ") + FromBase(view);
    std::vector<std::string> match;
    for (const OutputColumn* c : keys)
        match.push_back(MatchExpr(c->expression_sql, QualifiedColumn(m, c->name), c->not_null));
    if (!match.empty()) subquery += MoreConditions(view) + Join(match, " AND ");
    return {"UPDATE " + Immv(view) + " AS " + m + " SET " + lhs + " = (" + subquery + ")" + Join(clear, "") +
                " WHERE " + m + ".ctid = ANY ($1)",
            StepInput::TidsToRecompute, false};
}

MaintenanceStep DeleteGoneRows(const ViewDefinition& view) {
    const std::string m = kImmvAlias;
    return {"DELETE FROM " + Immv(view) + " AS " + m + " WHERE " + m + ".ctid = ANY ($1) AND " +
                GoneGroup(view, QualifiedColumn(m, MultiplicityColumn()) + " = 0", m),
            StepInput::TidsToDelete, false};
}

std::vector<StreamColumn> BagColumns(const ViewDefinition& view) {
    std::vector<StreamColumn> columns;
    for (const auto& c : view.columns) columns.push_back({c.name, c.expression_sql});
    return columns;
}

// The row-key columns of a bag view with their expressions.
std::vector<StreamColumn> RowKeys(const ViewDefinition& view) {
    std::vector<StreamColumn> keys;
    for (const auto& name : view.row_key_columns)
        for (const auto& c : view.columns)
            if (c.name == name) keys.push_back({name, c.expression_sql});
    return keys;
}

// Equality of the row-key columns of two aliases (keys are primary key
// columns: never NULL); b's columns may be named with a prefix.
std::string SameKey(const std::vector<StreamColumn>& keys, const std::string& a, const std::string& b,
                    const std::string& b_prefix = "") {
    std::vector<std::string> match;
    for (const auto& k : keys)
        match.push_back(QualifiedColumn(a, k.name) + " = " + QualifiedColumn(b, b_prefix + k.name));
    return Join(match, " AND ");
}

// Deletes one IMMV row per deleted row, matched by the base primary key(s).
MaintenanceStep BagDeleteByKey(const ViewDefinition& view, const Delta& delta) {
    const std::vector<StreamColumn> keys = RowKeys(view);
    return {"DELETE FROM " + Immv(view) + " AS " + kImmvAlias + " USING (" +
                StreamUnion(view, keys, delta, StreamSign::Negative, false) + ") AS " + kDeltaAlias + " WHERE " +
                SameKey(keys, kImmvAlias, kDeltaAlias),
            StepInput::None, false};
}

// Deletes, for each distinct row value with net count -k in `netted` (a query
// with the IMMV's columns and __ivm_n), k IMMV rows with that value.
MaintenanceStep BagDeleteByValue(const ViewDefinition& view, const std::string& netted) {
    const std::string m = "__ivm_m", d = kDeltaAlias;
    std::vector<std::string> match;
    for (const auto& c : view.columns)
        match.push_back(MatchExpr(QualifiedColumn(m, c.name), QualifiedColumn(d, c.name), c.not_null));
    const std::string numbered = "SELECT " + m + ".ctid AS tid, " + d +
                                 ".__ivm_n AS n, row_number() OVER (PARTITION BY " + d + ".__ivm_id) AS rn FROM " +
                                 Immv(view) + " AS " + m + " JOIN (SELECT *, row_number() " +
                                 "OVER () AS __ivm_id FROM (" + netted + ") AS __ivm_c WHERE __ivm_n < 0) AS " + d +
                                 " ON " + Join(match, " AND ");
    return {"DELETE FROM " + Immv(view) + " AS " + kImmvAlias + " WHERE " + kImmvAlias +
                ".ctid = ANY (ARRAY(SELECT __ivm_t.tid FROM (" + numbered +
                ") AS __ivm_t WHERE __ivm_t.rn <= -__ivm_t.n))",
            StepInput::None, false};
}

// Rows of the selected streams counted per distinct value: (columns, __ivm_n).
std::string NettedRows(const ViewDefinition& view, const Delta& delta, StreamSign which) {
    const std::vector<StreamColumn> columns = BagColumns(view);
    std::vector<std::string> names;
    for (const auto& c : columns) names.push_back(QualifiedColumn("__ivm_s", c.name));
    return "SELECT " + Join(names, ", ") + ", sum(__ivm_s.__ivm_sign) AS __ivm_n FROM (" +
           StreamUnion(view, columns, delta, which, true) + ") AS __ivm_s GROUP BY " + Join(names, ", ") +
           " HAVING sum(__ivm_s.__ivm_sign) <> 0";
}

MaintenanceStep BagInsert(const ViewDefinition& view, const Delta& delta) {
    return {"INSERT INTO " + Immv(view) + " (" + Join(QuoteIdents(TableColumns(view)), ", ") + ") " +
                StreamUnion(view, BagColumns(view), delta, StreamSign::Positive, false),
            StepInput::None, false};
}

// Inserts n copies of every row value with net count n > 0 in `netted`.
MaintenanceStep BagInsertNetted(const ViewDefinition& view, const std::string& netted) {
    std::vector<std::string> names;
    for (const auto& c : view.columns) names.push_back(QualifiedColumn("__ivm_c", c.name));
    return {"INSERT INTO " + Immv(view) + " (" + Join(QuoteIdents(TableColumns(view)), ", ") + ") SELECT " +
                Join(names, ", ") + " FROM (" + netted +
                ") AS __ivm_c, generate_series(1, __ivm_c.__ivm_n) WHERE __ivm_c.__ivm_n > 0",
            StepInput::None, false};
}

// For a netted batch of a bag view with row keys: every IMMV row whose key
// the batch touches is deleted, then re-derived from the base relations.
// Needs equality only on the (primary key) row-key columns.
void AddRederiveSteps(MaintenancePlan& plan, const ViewDefinition& view, const Delta& delta) {
    const std::vector<StreamColumn> keys = RowKeys(view);
    const std::string touched = StreamUnion(view, keys, delta, StreamSign::Any, false);
    std::vector<std::string> key_exprs, key_names;
    for (const auto& k : keys) {
        key_exprs.push_back(k.expr);
        key_names.push_back(QualifiedColumn("__ivm_k", k.name));
    }
    plan.steps.push_back({"DELETE FROM " + Immv(view) + " AS " + kImmvAlias + " USING (SELECT DISTINCT * FROM (" +
                              touched + ") AS __ivm_t) AS " + kDeltaAlias + " WHERE " +
                              SameKey(keys, kImmvAlias, kDeltaAlias),
                          StepInput::None, false});
    std::vector<std::string> select_list;
    for (const auto& c : view.columns) select_list.push_back(c.expression_sql + " AS " + QuoteIdent(c.name));
    const std::string from = FromBase(view);
    plan.steps.push_back({"INSERT INTO " + Immv(view) + " (" + Join(QuoteIdents(TableColumns(view)), ", ") +
                              ") SELECT " + Join(select_list, ", ") + from + MoreConditions(view) + "(" +
                              Join(key_exprs, ", ") + ") IN (SELECT " + Join(key_names, ", ") + " FROM (" + touched +
                              ") AS __ivm_k)",
                          StepInput::None, false});
}

// For a bag view with row keys and a delta in which each key occurs at most
// once per sign (one changed relation), one statement. The two sides of the
// delta are paired by key in one full join (a hash or merge join whatever
// the planner expects of their sizes), computed once: rows whose key is on
// both sides are updated in place (a HOT update when the page has room: no
// new index entry, no new page), rows only deleted are deleted, rows only
// inserted are inserted. The three sets of IMMV rows are disjoint, so the
// sub-statements (which see the same snapshot) cannot meet. The statement
// returns how many rows it changed.
void AddKeyedSteps(MaintenancePlan& plan, const ViewDefinition& view, const Delta& delta) {
    const std::vector<StreamColumn> keys = RowKeys(view);
    const std::string m = kImmvAlias, p = "__ivm_p", d = kDeltaAlias, k = "__ivm_k";
    // In __ivm_k, the inserted row's columns under their names, the deleted
    // row's key under __ivm_old_<name>.
    const std::string old = "__ivm_old_";
    std::vector<std::string> paired;
    for (const auto& c : view.columns) paired.push_back(QualifiedColumn(p, c.name));
    for (const auto& key : keys) paired.push_back(QualifiedColumn(d, key.name) + " AS " + QuoteIdent(old + key.name));
    // Row keys are primary key columns: never NULL in a row that exists.
    const std::string inserted = QualifiedColumn(k, keys[0].name) + " IS NOT NULL";
    const std::string deleted = QualifiedColumn(k, old + keys[0].name) + " IS NOT NULL";
    auto negate = [](const std::string& condition) { return "NOT (" + condition + ")"; };
    const std::string old_match = SameKey(keys, m, k, old);

    // In the order of the deleted rows' keys: the update and the delete look
    // the IMMV's rows up by key, and lookups in index order touch each page
    // of the key's index once (in hash order, a large batch misses the CPU
    // caches on most of them).
    std::vector<std::string> old_keys;
    for (const auto& key : keys) old_keys.push_back(QuoteIdent(old + key.name));
    std::vector<std::string> ctes{k + " AS MATERIALIZED (SELECT " + Join(paired, ", ") + " FROM (" +
                                  StreamUnion(view, BagColumns(view), delta, StreamSign::Positive, false) + ") AS " +
                                  p + " FULL JOIN (" + StreamUnion(view, keys, delta, StreamSign::Negative, false) +
                                  ") AS " + d + " ON " + SameKey(keys, p, d) + " ORDER BY " + Join(old_keys, ", ") +
                                  ")"};
    std::vector<std::string> counted;
    std::vector<std::string> set;
    for (const auto& c : view.columns)
        if (std::find(view.row_key_columns.begin(), view.row_key_columns.end(), c.name) == view.row_key_columns.end())
            set.push_back(QuoteIdent(c.name) + " = " + QualifiedColumn(k, c.name));
    if (!set.empty()) {
        ctes.push_back("__ivm_u AS (UPDATE " + Immv(view) + " AS " + m + " SET " + Join(set, ", ") + " FROM " + k +
                       " WHERE " + old_match + " AND " + inserted + " RETURNING 1)");
        counted.push_back("(SELECT count(*) FROM __ivm_u)");
    }
    // (Without columns but the key, a key on both sides is a row unchanged.)
    const std::string only_deleted = deleted + " AND " + negate(inserted);
    const std::string only_inserted = inserted + " AND " + negate(deleted);
    ctes.push_back("__ivm_x AS (DELETE FROM " + Immv(view) + " AS " + m + " USING " + k + " WHERE " + old_match +
                   " AND " + only_deleted + " RETURNING 1)");
    counted.push_back("(SELECT count(*) FROM __ivm_x)");
    std::vector<std::string> names;
    for (const auto& c : view.columns) names.push_back(QualifiedColumn(k, c.name));
    ctes.push_back("__ivm_i AS (INSERT INTO " + Immv(view) + " (" + Join(QuoteIdents(TableColumns(view)), ", ") +
                   ") SELECT " + Join(names, ", ") + " FROM " + k + " WHERE " + only_inserted + " RETURNING 1)");
    counted.push_back("(SELECT count(*) FROM __ivm_i)");
    MaintenanceStep step{"WITH " + Join(ctes, ", ") + " SELECT " + Join(counted, " + "), StepInput::None, false};
    step.returns_count = true;
    plan.steps.push_back(step);
}

void AddBagSteps(MaintenancePlan& plan, const ViewDefinition& view, const Delta& delta) {
    if (delta.consolidate && !view.row_key_columns.empty()) {
        AddRederiveSteps(plan, view, delta);
        return;
    }
    if (delta.consolidate) {
        const std::string netted = NettedRows(view, delta, StreamSign::Any);
        plan.steps.push_back(BagDeleteByValue(view, netted));
        plan.steps.push_back(BagInsertNetted(view, netted));
        return;
    }
    if (HasRowKey(view) && delta.update_in_place && delta.HasNegative() && delta.HasPositive()) {
        AddKeyedSteps(plan, view, delta);
        return;
    }
    if (delta.HasNegative())
        plan.steps.push_back(view.row_key_columns.empty()
                                 ? BagDeleteByValue(view, NettedRows(view, delta, StreamSign::Negative))
                                 : BagDeleteByKey(view, delta));
    if (delta.HasPositive()) plan.steps.push_back(BagInsert(view, delta));
}

}  // namespace

std::vector<std::string> TableColumns(const ViewDefinition& view) {
    if (FiltersGroups(view)) return FilteredColumns(view);
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

bool UpdatesInPlace(const ViewDefinition& view, unsigned long rows) {
    return HasRowKey(view) && rows >= kInPlaceMinRows;
}

void AddDeltaQueries(MaintenanceStep& step, const Delta& delta) {
    if (delta.with_items.empty() || step.input != StepInput::None) return;
    // A step with WITH queries of its own lists them after these.
    const bool own = step.sql.compare(0, 5, "WITH ") == 0;
    step.sql = "WITH " + Join(delta.with_items, ", ") + (own ? ", " + step.sql.substr(5) : " " + step.sql);
}

namespace {

// The statements applying a (non-empty) delta to the IMMV of `view`: for a
// view with HAVING, to its groups table (GroupStateView).
MaintenancePlan ApplyDelta(const ViewDefinition& view, const Delta& delta) {
    MaintenancePlan plan;
    switch (view.shape) {
        case ViewShape::Bag:
            AddBagSteps(plan, view, delta);
            break;
        case ViewShape::Distinct:
        case ViewShape::Grouped:
            plan.steps.push_back(KeyedUpsert(view, delta));
            if (view.shape == ViewShape::Grouped && HasAggregateExpressions(view))
                plan.steps.push_back(EvaluateExpressions(view, GuardsExpressions(view, delta)));
            if (MayRecompute(view, delta)) plan.steps.push_back(RecomputeAggregates(view, delta));
            if (delta.HasNegative()) plan.steps.push_back(DeleteGoneRows(view));
            break;
        case ViewShape::GlobalAggregate:
            plan.steps.push_back(GlobalUpdate(view, delta));
            if (MayRecompute(view, delta)) plan.steps.push_back(RecomputeAggregates(view, delta));
            break;
    }
    // The statement writing the groups first adds the delta to the counts
    // of the DISTINCT aggregates' values, and reads what it wrote.
    const std::vector<std::string> value_updates = DistinctValueUpdates(view, delta);
    if (!value_updates.empty()) plan.steps[0].sql = "WITH " + Join(value_updates, ", ") + " " + plan.steps[0].sql;
    // Steps fed the rows an earlier step reported (StepInput::Tids*) do not
    // read the delta: only the others get its WITH queries to parse and plan.
    for (auto& step : plan.steps) AddDeltaQueries(step, delta);
    return plan;
}

}  // namespace

MaintenancePlan BuildMaintenancePlan(const ViewDefinition& view, const Delta& delta) {
    if (delta.empty()) return {};
    if (view.top_k) return {{TopKDiff(view)}};
    if (view.partitions) return {{RecomputePartitions(view, delta)}};
    const bool filters = FiltersGroups(view);
    MaintenancePlan plan = ApplyDelta(filters ? GroupStateView(view) : view, delta);
    // The values whose count reached zero go last (they read no delta).
    const std::vector<std::string> deletes = VanishedValueDeletes(view, delta);
    if (!filters) {
        for (const auto& sql : deletes) plan.steps.push_back({sql, StepInput::None, false});
        return plan;
    }
    // Then the IMMV rows of the groups the delta touched follow their state,
    // in one statement that also takes the deletes.
    MaintenanceStep sync = SyncPassingGroups(view, delta);
    AddDeltaQueries(sync, delta);
    std::vector<std::string> ctes;
    for (size_t j = 0; j < deletes.size(); ++j)
        ctes.push_back("__ivm_z" + std::to_string(j + 1) + " AS (" + deletes[j] + " RETURNING 1)");
    if (!ctes.empty()) sync.sql = "WITH " + Join(ctes, ", ") + ", " + sync.sql.substr(5);
    plan.steps.push_back(sync);
    return plan;
}

std::string PopulateQuery(const ViewDefinition& view) {
    if (view.top_k) {
        ViewDefinition all = view;
        all.top_k.reset();
        const TopK& top = *view.top_k;
        std::string sql = "SELECT * FROM (" + PopulateQuery(all) + ") __ivm_q ORDER BY " + Join(top.order_by, ", ");
        if (top.offset > 0) sql += " OFFSET " + std::to_string(top.offset) + " ROWS";
        return sql + " FETCH FIRST " + std::to_string(top.limit) + " ROWS " + (top.with_ties ? "WITH TIES" : "ONLY");
    }
    if (view.partitions) return view.partitions->query_sql;
    if (FiltersGroups(view)) return PassingGroups(view, "(" + PopulateQuery(GroupStateView(view)) + ")");
    std::vector<std::string> select_list;
    for (const auto& t : TableLayout(view)) select_list.push_back(PopulateExpr(view, t) + " AS " + QuoteIdent(t.name));
    std::string sql = "SELECT " + Join(select_list, ", ") + FromBase(view);
    if (IsKeyed(view.shape)) sql += " GROUP BY " + Join(GroupingExpressions(view), ", ");
    for (const auto& kept : view.empty_grouping_sets) {
        std::vector<std::string> kept_list;
        for (const auto& t : TableLayout(view))
            kept_list.push_back(PopulateExpr(view, t, &kept) + " AS " + QuoteIdent(t.name));
        sql += " UNION ALL " + KeptGroupRow(view, kept, kept_list, FromBase(view));
    }
    return sql;
}

std::string CreateTableSql(const ViewDefinition& view) {
    // Rows of a bag with a row key are updated in place (UpdatesInPlace):
    // room on each page keeps those updates on the page (HOT), without a new
    // index entry.
    const std::string options = HasRowKey(view) ? " WITH (fillfactor = " + std::to_string(kKeyedFillFactor) + ")" : "";
    return "CREATE TABLE " + Immv(view) + options + " AS " + PopulateQuery(view);
}

std::optional<std::string> CreateIndexSql(const ViewDefinition& view) {
    // A partition's rows are deleted by their keys.
    if (view.partitions && !view.partitions->key_columns.empty())
        return "CREATE INDEX ON " + Immv(view) + " (" + Join(QuoteIdents(view.partitions->key_columns), ", ") + ")";
    const std::vector<std::string> identity = IdentityColumns(view);
    if (identity.empty()) return std::nullopt;
    // An IMMV that holds a row as often as it is output: its rows are
    // identified by their values and their number among the copies.
    if (FiltersGroups(view) && RepeatsRows(view))
        return "CREATE UNIQUE INDEX ON " + Immv(view) + " (" + Join(QuoteIdents(identity), ", ") + ", " +
               QuoteIdent(CopyNumberColumn()) + ") NULLS NOT DISTINCT";
    std::string sql = "CREATE UNIQUE INDEX ON " + Immv(view) + " (" + Join(QuoteIdents(identity), ", ") + ")";
    if (IsKeyed(view.shape)) sql += " NULLS NOT DISTINCT";
    return sql;
}

std::vector<std::string> CreateCompanionsSql(const ViewDefinition& view) {
    std::vector<std::string> statements;
    if (FiltersGroups(view)) {
        const ViewDefinition state = GroupStateView(view);
        statements.push_back(CreateTableSql(state));
        if (auto index = CreateIndexSql(state)) statements.push_back(*index);
    }
    for (auto& sql : CreateDistinctValuesSql(view)) statements.push_back(std::move(sql));
    return statements;
}

std::vector<QualifiedName> Companions(const ViewDefinition& view) {
    std::vector<QualifiedName> names;
    if (view.groups_table) names.push_back(*view.groups_table);
    for (const auto& values : view.distinct_values) names.push_back(values.table);
    return names;
}

std::vector<std::string> RefreshStatements(const ViewDefinition& view, bool with_data, bool truncate) {
    if (FiltersGroups(view)) {
        // Every group's state first, then the groups that pass.
        std::vector<std::string> statements = RefreshStatements(GroupStateView(view), with_data, truncate);
        statements.push_back((truncate ? "TRUNCATE " : "DELETE FROM ") + Immv(view));
        if (with_data)
            statements.push_back("INSERT INTO " + Immv(view) + " (" + Join(QuoteIdents(TableColumns(view)), ", ") +
                                 ") " + PassingGroups(view, QuoteQualified(*view.groups_table)));
        return statements;
    }
    std::vector<std::string> statements = RefreshDistinctValuesSql(view, with_data, truncate);
    statements.push_back((truncate ? "TRUNCATE " : "DELETE FROM ") + Immv(view));
    if (with_data)
        statements.push_back("INSERT INTO " + Immv(view) + " (" + Join(QuoteIdents(TableColumns(view)), ", ") + ") " +
                             PopulateQuery(view));
    return statements;
}

}  // namespace ivmx::core
