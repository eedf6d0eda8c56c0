// Set operations in a view's query (see extension/analyze_set_operations.hpp).
#include "analyze_set_operations.hpp"

#include <string>
#include <vector>

#include "analyze_checks.hpp"
#include "ivmx/core/error.hpp"
#include "ivmx/core/set_operation.hpp"
#include "ivmx/pg/guards.hpp"
#include "pg_util.hpp"

namespace ivmx::pg {

using core::NotSupported;

namespace {

// The operation tree of a set operation's node, appending the queries of
// its leaves (in order) to `leaves`.
core::SetOperationTree SetOperationTreeOf(Query* q, Node* node, std::vector<Query*>& leaves) {
    using Kind = core::SetOperationTree::Kind;
    core::SetOperationTree tree;
    if (IsA(node, RangeTblRef)) {
        RangeTblEntry* rte = rt_fetch(castNode(RangeTblRef, node)->rtindex, q->rtable);
        if (rte->rtekind != RTE_SUBQUERY || rte->subquery == nullptr) Unsupported("this kind of set operation operand");
        tree.leaf = leaves.size();
        leaves.push_back(rte->subquery);
        return tree;
    }
    SetOperationStmt* op = castNode(SetOperationStmt, node);
    tree.kind = op->op == SETOP_UNION ? Kind::Union : op->op == SETOP_INTERSECT ? Kind::Intersect : Kind::Except;
    tree.all = op->all;
    tree.children.push_back(SetOperationTreeOf(q, op->larg, leaves));
    tree.children.push_back(SetOperationTreeOf(q, op->rarg, leaves));
    return tree;
}

// Window functions and DISTINCT ON are maintained for a whole view only
// (core::PartitionRecompute), not for an operand of a set operation.
void RefuseWindowsInOperand(Query* leaf) {
    if (leaf->hasWindowFuncs || leaf->hasDistinctOn)
        Unsupported(std::string(leaf->hasWindowFuncs ? "a window function" : "DISTINCT ON") +
                        " in an operand of UNION, INTERSECT or EXCEPT",
                    "Create the operand as an IMMV of its own, and the set operation over it.");
}

// The columns of a set operation: named as its select list names them, or
// (union_names) as the columns of a union read in FROM; typed as the
// operation unifies its operands' columns.
std::vector<core::SetColumn> SetColumns(Query* q, bool union_names) {
    SetOperationStmt* top = castNode(SetOperationStmt, q->setOperations);
    std::vector<core::SetColumn> columns;
    ListCell* lc;
    foreach (lc, q->targetList) {
        auto* tle = static_cast<TargetEntry*>(lfirst(lc));
        if (tle->resjunk) continue;
        const int i = static_cast<int>(columns.size());
        const Oid type = list_nth_oid(top->colTypes, i);
        columns.push_back({union_names               ? core::UnionColumn(size_t(i))
                           : tle->resname != nullptr ? std::string(tle->resname)
                                                     : "?column?",
                           QualifiedTypeName(type, list_nth_int(top->colTypmods, i)), HasBtreeEquality(type)});
    }
    return columns;
}

// The operands described, each as a view of its own.
std::vector<core::ViewDefinition> DescribeOperands(const std::vector<Query*>& operands,
                                                   const DescribeOperand& describe) {
    std::vector<core::ViewDefinition> leaves;
    for (Query* leaf : operands) {
        RefuseWindowsInOperand(leaf);
        leaves.push_back(describe(leaf));
    }
    return leaves;
}

bool OnlyUnionAll(const core::SetOperationTree& tree) {
    if (tree.kind == core::SetOperationTree::Kind::Leaf) return true;
    return tree.kind == core::SetOperationTree::Kind::Union && tree.all && OnlyUnionAll(tree.children[0]) &&
           OnlyUnionAll(tree.children[1]);
}

}  // namespace

// The queries of a set operation's leaves, in order.
std::vector<Query*> SetOperationLeaves(Query* q) {
    std::vector<Query*> leaves;
    SetOperationTreeOf(q, q->setOperations, leaves);
    return leaves;
}

// A set operation (UNION / INTERSECT / EXCEPT): its leaves are described as
// views of their own, then combined (core/set_operation.hpp).
core::ViewDefinition DescribeSetOperation(Query* q, const core::QualifiedName& immv, const DescribeOperand& describe) {
    std::vector<Query*> leaf_queries;
    const core::SetOperationTree tree = SetOperationTreeOf(q, q->setOperations, leaf_queries);
    const std::vector<core::SetColumn> columns = WithMaintenanceSettings([&] { return SetColumns(q, false); });
    return core::SetOperationView(immv, columns, DescribeOperands(leaf_queries, describe), tree);
}

// Makes `view`, described over a UNION ALL in FROM (its expressions read the
// union's columns), a view over the union of the operands.
void AttachUnion(core::ViewDefinition& view, const std::vector<Query*>& unions, const DescribeOperand& describe) {
    const std::string hint = "Create the set operation as an IMMV of its own, and read that IMMV.";
    if (unions.size() > 1 || !view.relations.empty() || view.join_tree)
        throw NotSupported(
            "UNION/INTERSECT/EXCEPT in a subquery in FROM joined to other FROM items is not supported on "
            "incrementally maintainable materialized views",
            {}, hint);
    Query* sub = unions[0];
    std::vector<Query*> leaf_queries;
    const core::SetOperationTree tree = SetOperationTreeOf(sub, sub->setOperations, leaf_queries);
    if (!OnlyUnionAll(tree))
        throw NotSupported(
            "UNION, INTERSECT or EXCEPT in a subquery in FROM is not supported on incrementally maintainable "
            "materialized views",
            "A subquery in FROM may be a UNION ALL.", hint);
    core::ReadUnionAll(view, SetColumns(sub, true), DescribeOperands(leaf_queries, describe));
}

}  // namespace ivmx::pg
