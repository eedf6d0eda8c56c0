// Set operations of ungrouped leaves (see include/ivmx/core/set_operation.hpp).
#include "ivmx/core/set_operation.hpp"

#include "ivmx/core/delta_query.hpp"
#include "ivmx/core/error.hpp"
#include "ivmx/core/group_filter.hpp"
#include "ivmx/core/sql_text.hpp"

namespace ivmx::core {

// (By position: the output columns' names may change, ALTER TABLE ...
// RENAME COLUMN.)
std::string UnionColumn(size_t i) {
    return "__ivm_col_" + std::to_string(i + 1);
}

namespace {

using Kind = SetOperationTree::Kind;

bool OnlyUnions(const SetOperationTree& tree, bool all) {
    if (tree.kind == Kind::Leaf) return true;
    if (tree.kind != Kind::Union || (all && !tree.all)) return false;
    for (const auto& child : tree.children)
        if (!OnlyUnions(child, all)) return false;
    return true;
}

bool HasDistinctLeaf(const std::vector<ViewDefinition>& leaves) {
    for (const auto& leaf : leaves)
        if (leaf.shape == ViewShape::Distinct) return true;
    return false;
}

// How often the tree outputs a row, over $n: the row's count in leaf n - 1.
std::string CopiesTemplate(const SetOperationTree& tree, const std::vector<ViewDefinition>& leaves) {
    if (tree.kind == Kind::Leaf) {
        if (tree.leaf >= leaves.size()) throw Error(sqlstate::kInternalError, "set operation names no such leaf");
        const std::string count = "$" + std::to_string(tree.leaf + 1);
        return leaves[tree.leaf].shape == ViewShape::Distinct ? "least(" + count + ", 1)" : count;
    }
    if (tree.children.size() != 2) throw Error(sqlstate::kInternalError, "set operation without two operands");
    const std::string l = CopiesTemplate(tree.children[0], leaves), r = CopiesTemplate(tree.children[1], leaves);
    std::string all;
    switch (tree.kind) {
        case Kind::Union:
            all = "(" + l + " + " + r + ")";
            break;
        case Kind::Intersect:
            all = "least(" + l + ", " + r + ")";
            break;
        case Kind::Except:
            if (!tree.all) return "CASE WHEN " + r + " > 0 THEN 0 ELSE least(" + l + ", 1) END";
            all = "greatest(" + l + " - " + r + ", 0)";
            break;
        case Kind::Leaf:
            break;
    }
    return tree.all ? all : "least(" + all + ", 1)";
}

OutputColumn LeafCount(size_t leaf) {
    OutputColumn count;
    count.name = HiddenAggregateColumn(leaf + 1);
    count.role = ColumnRole::Aggregate;
    count.hidden = true;
    count.not_null = true;
    count.type_sql = "bigint";
    Aggregate agg;
    agg.kind = AggregateKind::CountStar;
    agg.result_type = "bigint";
    agg.filter_sql = std::string(kSetAlias) + "." + kLeafColumn + " = " + std::to_string(leaf + 1);
    count.aggregate = agg;
    return count;
}

OutputColumn CountExpression(const std::string& name, const std::string& sql, const std::string& type,
                             size_t first_count, size_t leaves) {
    OutputColumn column;
    column.name = name;
    column.role = ColumnRole::AggregateExpression;
    column.hidden = true;
    column.expression_sql = sql;
    column.type_sql = type;
    for (size_t k = 0; k < leaves; ++k) column.operands.push_back(first_count + k);
    return column;
}

std::vector<const OutputColumn*> LeafColumns(const ViewDefinition& leaf) {
    std::vector<const OutputColumn*> visible;
    for (const auto& c : leaf.columns)
        if (!c.hidden) visible.push_back(&c);
    return visible;
}

// SELECT of leaf `k`'s rows, as the set operation's columns, from `from`.
std::string LeafSelect(const ViewDefinition& view, size_t k, const std::string& from) {
    const std::vector<const OutputColumn*> leaf_columns = LeafColumns(view.branches[k]);
    std::vector<std::string> list;
    for (size_t i = 0; i < leaf_columns.size(); ++i)
        list.push_back("CAST((" + leaf_columns[i]->expression_sql + ") AS " + leaf_columns[i]->type_sql + ") AS " +
                       UnionColumn(i));
    list.push_back(std::to_string(k + 1) + " AS " + kLeafColumn);
    return "SELECT " + Join(list, ", ") + from;
}

// The FROM clause of a view reading `rows` (leaves' rows) as the union:
// then its constant relations (the grouping sets' numbers, functions in
// FROM), then its WHERE.
std::string UnionFrom(const ViewDefinition& view, const std::string& rows) {
    std::string sql = " FROM (" + rows + ") AS " + kSetAlias;
    for (const auto& constant : view.constants) sql += ", " + ConstantFromItem(constant);
    return sql + (view.where_sql.empty() ? "" : " WHERE " + view.where_sql);
}

// The union of `leaves` (after checking them) as what `view` reads.
void AttachLeaves(ViewDefinition& view, const std::vector<SetColumn>& columns, std::vector<ViewDefinition> leaves) {
    for (auto& leaf : leaves) {
        if (leaf.shape != ViewShape::Bag && leaf.shape != ViewShape::Distinct)
            throw NotSupported(
                "GROUP BY or aggregates in an operand of UNION/INTERSECT/EXCEPT is not supported on incrementally "
                "maintainable materialized views",
                {}, "Create the grouped query as an IMMV of its own, and the set operation over it.");
        size_t i = 0;
        for (auto& c : leaf.columns) {
            if (c.hidden) continue;
            if (i >= columns.size()) break;
            c.type_sql = columns[i++].type_sql;  // what the union casts it to
        }
        if (i != columns.size() || LeafColumns(leaf).size() != columns.size())
            throw Error(sqlstate::kInternalError, "set operation leaf with another number of columns");
        for (const auto& rel : leaf.relations) view.relations.push_back(rel);
    }
    view.branches = std::move(leaves);
}

}  // namespace

ViewDefinition SetOperationView(const QualifiedName& immv, const std::vector<SetColumn>& columns,
                                std::vector<ViewDefinition> leaves, const SetOperationTree& tree) {
    ViewDefinition view;
    view.immv = immv;
    const bool bag = OnlyUnions(tree, true) && !HasDistinctLeaf(leaves);
    view.shape = bag ? ViewShape::Bag : OnlyUnions(tree, false) && !tree.all ? ViewShape::Distinct : ViewShape::Grouped;
    for (size_t i = 0; i < columns.size(); ++i) {
        OutputColumn column;
        column.name = columns[i].name;
        column.role = bag ? ColumnRole::Plain : ColumnRole::GroupKey;
        column.expression_sql = std::string(kSetAlias) + "." + UnionColumn(i);
        column.type_sql = columns[i].type_sql;
        column.has_equality = columns[i].has_equality;
        column.not_null = true;
        for (const auto& leaf : leaves)
            column.not_null = column.not_null && i < LeafColumns(leaf).size() && LeafColumns(leaf)[i]->not_null;
        view.columns.push_back(std::move(column));
    }
    if (view.shape == ViewShape::Grouped) {
        // The count of every leaf; whether (and, below an ALL at the root,
        // how often) the operation outputs the row; the IMMV holds the rows
        // of the groups that pass, as many times as they are output.
        const size_t first_count = view.columns.size();
        for (size_t k = 0; k < leaves.size(); ++k) view.columns.push_back(LeafCount(k));
        const std::string copies = CopiesTemplate(tree, leaves);
        if (tree.all)
            view.columns.push_back(CountExpression(CopiesColumn(), copies, "bigint", first_count, leaves.size()));
        view.columns.push_back(
            CountExpression(HavingColumn(), "(" + copies + ") > 0", "boolean", first_count, leaves.size()));
        view.groups_table = CompanionName(immv, kGroupsSuffix);
    }
    AttachLeaves(view, columns, std::move(leaves));
    return view;
}

void ReadUnionAll(ViewDefinition& view, const std::vector<SetColumn>& columns, std::vector<ViewDefinition> leaves) {
    for (const auto& leaf : leaves)
        if (leaf.shape == ViewShape::Distinct)
            throw NotSupported(
                "DISTINCT in an operand of UNION ALL in FROM is not supported on incrementally maintainable "
                "materialized views",
                {}, "Create the UNION ALL as an IMMV of its own, and the query over it.");
    AttachLeaves(view, columns, std::move(leaves));
}

bool RepeatsRows(const ViewDefinition& view) {
    for (const auto& c : view.columns)
        if (c.name == CopiesColumn()) return true;
    return false;
}

std::string SetOperationFrom(const ViewDefinition& view, const std::vector<std::string>& sources) {
    std::vector<std::string> selects;
    size_t first = 0;
    for (size_t k = 0; k < view.branches.size(); ++k) {
        const ViewDefinition& leaf = view.branches[k];
        const std::vector<std::string> own(sources.begin() + first, sources.begin() + first + leaf.relations.size());
        first += leaf.relations.size();
        selects.push_back(LeafSelect(view, k, FromList(leaf, own)));
    }
    return UnionFrom(view, Join(selects, " UNION ALL "));
}

Delta SetOperationDelta(const ViewDefinition& view, const std::vector<ChangedOccurrence>& changed,
                        const std::string& with_prefix) {
    Delta delta;
    size_t first = 0;
    for (size_t k = 0; k < view.branches.size(); ++k) {
        const ViewDefinition& leaf = view.branches[k];
        std::vector<ChangedOccurrence> own;
        for (const auto& c : changed)
            if (c.occurrence >= first && c.occurrence < first + leaf.relations.size())
                own.push_back({c.occurrence - first, c.inserted, c.deleted});
        first += leaf.relations.size();
        if (own.empty()) continue;
        // Each leaf's WITH queries under names of its own.
        Delta part = BuildDelta(leaf, own, with_prefix + "_b" + std::to_string(k + 1) + "_");
        delta.consolidate = delta.consolidate || part.consolidate;
        for (auto& item : part.with_items) delta.with_items.push_back(std::move(item));
        for (const auto& stream : part.streams) {
            DeltaStream s;
            s.sign = stream.sign;
            const std::string from = stream.from_sql.empty() ? FromList(leaf, stream.sources) : stream.from_sql;
            s.from_sql = UnionFrom(view, LeafSelect(view, k, from));
            delta.streams.push_back(std::move(s));
        }
    }
    return delta;
}

}  // namespace ivmx::core
