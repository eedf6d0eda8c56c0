// Facts derived from a view definition: hidden column names, row identity,
// locking needs (see include/ivmx/core/view_ir.hpp).
#include "ivmx/core/view_ir.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

#include "ivmx/core/aggregate_rules.hpp"
#include "ivmx/core/error.hpp"
#include "ivmx/core/sql_text.hpp"

namespace ivmx::core {

std::string MultiplicityColumn() {
    return "__ivm_count__";
}

std::string NonNullCountColumn(size_t column_index) {
    return "__ivm_count_" + std::to_string(column_index + 1) + "__";
}

std::string AvgSumColumn(size_t column_index) {
    return "__ivm_sum_" + std::to_string(column_index + 1) + "__";
}

std::string TrueCountColumn(size_t column_index) {
    return "__ivm_true_" + std::to_string(column_index + 1) + "__";
}

std::string SquareSumColumn(size_t column_index) {
    return "__ivm_sq_" + std::to_string(column_index + 1) + "__";
}

std::string LostExtremeColumn(size_t column_index) {
    return "__ivm_lost_" + std::to_string(column_index + 1) + "__";
}

std::string HiddenKeyColumn(size_t key_number) {
    return "__ivm_key_" + std::to_string(key_number) + "__";
}

std::string HiddenAggregateColumn(size_t number) {
    return "__ivm_agg_" + std::to_string(number) + "__";
}

std::string HavingColumn() {
    return "__ivm_having__";
}

std::string DistinctValueColumn() {
    return "__ivm_value__";
}

std::string CopiesColumn() {
    return "__ivm_copies__";
}

std::string CopyNumberColumn() {
    return "__ivm_copy__";
}

std::string GroupingSetColumn() {
    return "__ivm_gset__";
}

const OutputColumn& GroupingSetKey(const ViewDefinition& view) {
    for (const auto& c : view.columns)
        if (c.name == GroupingSetColumn()) return c;
    throw Error(sqlstate::kInternalError, "view \"" + view.immv.name + "\" has no grouping-set column");
}

std::string KeptGroupCondition(const ViewDefinition& view, const std::string& qualifier) {
    if (view.empty_grouping_sets.empty()) return {};
    std::vector<std::string> sets;
    for (const auto& empty : view.empty_grouping_sets) sets.push_back(std::to_string(empty.set));
    return QualifiedColumn(qualifier, GroupingSetColumn()) + " IN (" + Join(sets, ", ") + ")";
}

std::string UnevaluatedColumn() {
    return "__ivm_unevaluated__";
}

bool HasAggregateExpressions(const ViewDefinition& view) {
    for (const auto& c : view.columns)
        if (c.role == ColumnRole::AggregateExpression) return true;
    return false;
}

bool IsKeyColumn(const OutputColumn& column) {
    return column.role == ColumnRole::Plain || column.role == ColumnRole::GroupKey;
}

std::string ExpandExpression(const OutputColumn& column, const std::function<std::string(size_t)>& value) {
    const std::string& text = column.expression_sql;
    std::string out;
    out.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) {
        const char ch = text[i];
        if (ch == '\'' || ch == '"') {
            // A literal ('...', E'...' with backslash escapes) or a quoted
            // identifier ("..."), copied as it is; a doubled quote is part of it.
            const bool backslashes = ch == '\'' && i > 0 && (text[i - 1] == 'E' || text[i - 1] == 'e');
            size_t end = i + 1;
            while (end < text.size()) {
                if (backslashes && text[end] == '\\') {
                    end += 2;
                    continue;
                }
                if (text[end] == ch) {
                    if (end + 1 < text.size() && text[end + 1] == ch) {
                        end += 2;
                        continue;
                    }
                    break;
                }
                ++end;
            }
            end = std::min(end + 1, text.size());
            out.append(text, i, end - i);
            i = end;
            continue;
        }
        if (ch == '$' && i + 1 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1]))) {
            size_t end = i + 1;
            size_t number = 0;
            while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end])))
                number = number * 10 + size_t(text[end++] - '0');
            if (number == 0 || number > column.operands.size())
                throw Error(sqlstate::kInternalError, "expression of column \"" + column.name +
                                                          "\" refers to operand $" + std::to_string(number) +
                                                          " that it does not have");
            out += "(" + value(column.operands[number - 1]) + ")";
            i = end;
            continue;
        }
        out.push_back(ch);
        ++i;
    }
    return out;
}

std::vector<TableColumn> TableLayout(const ViewDefinition& view) {
    std::vector<TableColumn> layout;
    for (int pass = 0; pass < 2; ++pass)
        for (size_t i = 0; i < view.columns.size(); ++i)
            if (view.columns[i].hidden == (pass == 1))
                layout.push_back({TableColumn::Kind::Output, i, view.columns[i].name});
    if (view.shape == ViewShape::Bag) return layout;
    layout.push_back({TableColumn::Kind::Multiplicity, 0, MultiplicityColumn()});
    for (size_t i = 0; i < view.columns.size(); ++i) {
        const auto& agg = view.columns[i].aggregate;
        if (!agg) continue;
        for (TableColumn::Kind kind : StateKinds(*agg, view.shape))
            layout.push_back({kind, i, StateColumnName(kind, i)});
    }
    if (view.shape == ViewShape::Grouped && HasAggregateExpressions(view))
        layout.push_back({TableColumn::Kind::Unevaluated, 0, UnevaluatedColumn()});
    return layout;
}

std::string StateColumnName(TableColumn::Kind kind, size_t column_index) {
    switch (kind) {
        case TableColumn::Kind::NonNullCount:
            return NonNullCountColumn(column_index);
        case TableColumn::Kind::AvgSum:
        case TableColumn::Kind::VarSum:
            return AvgSumColumn(column_index);
        case TableColumn::Kind::SquareSum:
            return SquareSumColumn(column_index);
        case TableColumn::Kind::TrueCount:
            return TrueCountColumn(column_index);
        case TableColumn::Kind::LostExtreme:
            return LostExtremeColumn(column_index);
        case TableColumn::Kind::Output:
        case TableColumn::Kind::Multiplicity:
        case TableColumn::Kind::Unevaluated:
            break;
    }
    throw Error(sqlstate::kInternalError, "a table column of this kind is no aggregate state");
}

void ApplyColumnNames(ViewDefinition& view, const std::vector<std::string>& names) {
    size_t next = 0;
    for (auto& column : view.columns) {
        if (column.hidden || next >= names.size()) continue;
        for (auto& key : view.row_key_columns)
            if (key == column.name) key = names[next];
        column.name = names[next++];
    }
    if (next < names.size())
        throw Error(sqlstate::kSyntaxError, "too many column names were specified",
                    "The view has " + std::to_string(next) + " output columns.");
}

void ValidateRelations(const ViewDefinition& view) {
    // The leaves of a set operation have deltas of their own, which add up.
    if (!view.branches.empty()) {
        for (const auto& leaf : view.branches) ValidateRelations(leaf);
        return;
    }
    for (const auto& rel : view.relations) {
        size_t count = 0;
        for (const auto& other : view.relations) count += other.relation_id == rel.relation_id;
        if (count > kMaxOccurrencesPerRelation)
            throw Error(sqlstate::kProgramLimitExceeded,
                        "an IMMV may read relation \"" + rel.name.name + "\" at most " +
                            std::to_string(kMaxOccurrencesPerRelation) + " times",
                        "The view reads it " + std::to_string(count) +
                            " times; the work of maintaining it after a change of that relation grows "
                            "exponentially with this number.",
                        "Join the relation fewer times, or use a materialized view refreshed with "
                        "REFRESH MATERIALIZED VIEW.");
    }
}

void ValidateColumns(const ViewDefinition& view) {
    ValidateRelations(view);
    std::set<std::string> seen;
    // Bag rows are matched by value without a row key (with one, by key);
    // the rows of a view that never changes are never matched.
    const bool match_by_value = view.shape == ViewShape::Bag && !HasRowKey(view) && !IsConstantView(view);
    for (const auto& column : view.columns) {
        if (column.hidden) continue;
        if (IsReservedColumnName(column.name))
            throw NotSupported(
                "column name \"" + column.name + "\" is reserved for incrementally maintainable materialized views",
                "Names starting with \"__ivm\" are used for the IMMV's own bookkeeping.",
                "Give the column another name with AS.");
        if (!seen.insert(column.name).second)
            throw Error(sqlstate::kDuplicateColumn, "column \"" + column.name + "\" specified more than once", {},
                        "Give the columns distinct names with AS.");
    }
    for (const auto& column : view.columns) {
        if (!IsKeyColumn(column) || column.has_equality) continue;
        const bool needed = column.role == ColumnRole::GroupKey || match_by_value;
        if (!needed) continue;
        throw NotSupported(
            "column \"" + column.name + "\" of type " + column.type_sql + " cannot be maintained incrementally",
            "The type has no btree equality operator, which is needed to find the "
            "IMMV rows a change affects.",
            match_by_value && view.constants.empty() ? "Include the primary key of the base table in the select list."
                                                     : std::string());
    }
}

std::string ConstantFromItem(const ConstantRelation& constant) {
    std::vector<std::string> names;
    for (const auto& column : constant.columns) names.push_back(QuoteIdent(column.name));
    if (names.empty()) return constant.function_sql + " AS " + constant.alias;
    return constant.function_sql + " AS " + constant.alias + "(" + Join(names, ", ") + ")";
}

ConstantRelation UnitRelation() {
    return {"(SELECT)", "__ivm_unit", {}};
}

bool IsConstantView(const ViewDefinition& view) {
    return view.relations.empty();
}

bool IsReservedColumnName(const std::string& name) {
    return name.rfind("__ivm", 0) == 0;
}

bool IsKeyed(ViewShape shape) {
    return shape == ViewShape::Distinct || shape == ViewShape::Grouped;
}

bool HasRowKey(const ViewDefinition& view) {
    return view.shape == ViewShape::Bag && !view.row_key_columns.empty();
}

bool ReadsWholeRows(const ViewDefinition& view, size_t occurrence) {
    if (!view.branches.empty()) {
        const BranchOccurrence at = BranchOf(view, occurrence);
        return ReadsWholeRows(view.branches[at.branch], at.occurrence);
    }
    return view.join_tree.has_value() || view.relations[occurrence].columns_read.empty();
}

bool NettedBatchIsKeyed(const ViewDefinition& view, size_t changed_occurrences) {
    return HasRowKey(view) && !HasJoinTree(view) && changed_occurrences == 1;
}

bool HasJoinTree(const ViewDefinition& view) {
    if (view.join_tree) return true;
    for (const auto& branch : view.branches)
        if (HasJoinTree(branch)) return true;
    return false;
}

bool ReadsRelationState(const ViewDefinition& view) {
    return view.top_k.has_value() || view.partitions.has_value() || HasJoinTree(view);
}

std::string TouchedValues(size_t k) {
    const std::string key = "__ivm_t.__ivm_k" + std::to_string(k);
    return "ARRAY(SELECT DISTINCT " + key + " FROM __ivm_touched __ivm_t WHERE " + key + " IS NOT NULL)";
}

std::string TouchedNull(size_t k) {
    return "(SELECT pg_catalog.bool_or(__ivm_t.__ivm_k" + std::to_string(k) + " IS NULL) FROM __ivm_touched __ivm_t)";
}

std::string TouchedKeyCondition(const std::string& value, size_t k) {
    return "(" + value + " = ANY (" + TouchedValues(k) + ") OR (" + value + " IS NULL AND " + TouchedNull(k) + "))";
}

BranchOccurrence BranchOf(const ViewDefinition& view, size_t occurrence) {
    size_t first = 0;
    for (size_t b = 0; b < view.branches.size(); ++b) {
        const size_t n = view.branches[b].relations.size();
        if (occurrence < first + n) return {b, occurrence - first};
        first += n;
    }
    throw Error(sqlstate::kInternalError, "relation occurrence " + std::to_string(occurrence) + " is in no branch");
}

std::vector<std::string> IdentityColumns(const ViewDefinition& view) {
    std::vector<std::string> identity;
    switch (view.shape) {
        case ViewShape::Distinct:
        case ViewShape::Grouped:
            for (const auto& column : view.columns)
                if (column.role == ColumnRole::GroupKey || column.role == ColumnRole::Plain)
                    identity.push_back(column.name);
            break;
        case ViewShape::Bag:
            identity = view.row_key_columns;
            break;
        case ViewShape::GlobalAggregate:
            break;
    }
    return identity;
}

bool HasRepeatedRelation(const ViewDefinition& view) {
    for (size_t i = 0; i < view.relations.size(); ++i)
        for (size_t j = i + 1; j < view.relations.size(); ++j)
            if (view.relations[i].relation_id == view.relations[j].relation_id) return true;
    return false;
}

namespace {

// Whether occurrence `occurrence` is reached from the tree's root through
// inner joins, filters and the row-preserving side of outer, semi and anti
// joins only; nullopt when the subtree does not hold it.
std::optional<bool> OnPreservedPath(const JoinTree& tree, size_t occurrence) {
    if (tree.kind == JoinTree::Kind::Relation)
        return tree.occurrence == occurrence ? std::optional<bool>(true) : std::nullopt;
    for (size_t child = 0; child < tree.children.size(); ++child) {
        const std::optional<bool> below = OnPreservedPath(tree.children[child], occurrence);
        if (!below) continue;
        switch (tree.kind) {
            case JoinTree::Kind::Left:
            case JoinTree::Kind::Semi:
            case JoinTree::Kind::Anti:
                return *below && child == 0;
            case JoinTree::Kind::Full:
                return false;
            default:
                return *below;
        }
    }
    return std::nullopt;
}

// Whether the occurrence is on a preserved path of the view's join tree
// (OnPreservedPath), or of its leaf's, in a set operation; true without one.
bool Preserved(const ViewDefinition& view, size_t occurrence) {
    if (!view.branches.empty()) {
        const BranchOccurrence at = BranchOf(view, occurrence);
        return Preserved(view.branches[at.branch], at.occurrence);
    }
    return !view.join_tree || OnPreservedPath(*view.join_tree, occurrence) == std::optional<bool>(true);
}

}  // namespace

WriterConcurrency WriterConcurrencyOf(const ViewDefinition& view, unsigned int relation_id) {
    // A top-K or a partition is computed again by each writer, from what the
    // others committed.
    if (view.top_k || view.partitions || (view.shape == ViewShape::Bag && !HasRowKey(view)))
        return WriterConcurrency::Exclusive;
    std::vector<size_t> occurrences;
    for (size_t i = 0; i < view.relations.size(); ++i)
        if (view.relations[i].relation_id == relation_id) occurrences.push_back(i);
    if (occurrences.size() != 1) return WriterConcurrency::Exclusive;
    // The only relation of a join tree (the others are constant relations)
    // is on a preserved path or takes turns: whether a row of a function in
    // FROM had a match before is derived from the relation's state, which
    // another writer of it changes.
    if (!Preserved(view, occurrences[0])) return WriterConcurrency::Exclusive;
    return view.relations.size() == 1 ? WriterConcurrency::Free : WriterConcurrency::PerRelation;
}

int ContentionRank(const ViewDefinition& view) {
    if (view.shape == ViewShape::GlobalAggregate || !view.empty_grouping_sets.empty()) return 2;
    for (const auto& rel : view.relations)
        if (WriterConcurrencyOf(view, rel.relation_id) != WriterConcurrency::Free) return 1;
    return 0;
}

}  // namespace ivmx::core
