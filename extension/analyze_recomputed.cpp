// Views maintained by computing part of their rows again (see
// extension/analyze_recomputed.hpp): top-K, window functions and DISTINCT ON.
#include "analyze_recomputed.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "analyze.hpp"
#include "analyze_checks.hpp"
#include "ivmx/core/error.hpp"
#include "ivmx/core/sql_text.hpp"
#include "ivmx/pg/guards.hpp"
#include "pg_util.hpp"

namespace ivmx::pg {

using core::NotSupported;

namespace {

// The partition keys of a window or DISTINCT ON query: the PARTITION BY
// expressions every window shares, or the DISTINCT ON expressions.
std::vector<Node*> PartitionKeys(Query* q) {
    std::vector<Node*> keys;
    PgCall([&] {
        List* clauses = q->distinctClause;
        if (q->hasWindowFuncs && q->windowClause != NIL)
            clauses = linitial_node(WindowClause, q->windowClause)->partitionClause;
        ListCell* lc;
        foreach (lc, clauses) {
            Node* key = get_sortgroupclause_expr(lfirst_node(SortGroupClause, lc), q->targetList);
            bool shared = true;
            ListCell* wc;
            if (q->hasWindowFuncs)
                foreach (wc, q->windowClause) {
                    bool found = false;
                    ListCell* pc;
                    foreach (pc, lfirst_node(WindowClause, wc)->partitionClause)
                        found |= equal(key, get_sortgroupclause_expr(lfirst_node(SortGroupClause, pc), q->targetList));
                    shared &= found;
                }
            if (shared) keys.push_back(key);
        }
    });
    return keys;
}

// A parameter standing in the printed query for a subquery over the
// touched partitions (see core::TouchedKeyCondition).
Param* Placeholder(int id, Oid type) {
    Param* param = makeNode(Param);
    param->paramkind = PARAM_EXTERN;
    param->paramid = id;
    param->paramtype = type;
    param->paramtypmod = -1;
    param->paramcollid = InvalidOid;
    param->location = -1;
    return param;
}

constexpr int kTouchedValues = 650000;  // + k: the keys' values ($650001 ...)
constexpr int kTouchedNull = 660000;    // + k: whether one is NULL

// key = ANY ($values) OR (key IS NULL AND $null): the condition of
// core::TouchedKeyCondition, with placeholders for its subqueries.
Node* TouchedCondition(Node* key, int k) {
    const Oid type = exprType(key);
    TypeCacheEntry* cache = lookup_type_cache(type, TYPECACHE_EQ_OPR);
    ScalarArrayOpExpr* any = makeNode(ScalarArrayOpExpr);
    any->opno = cache->eq_opr;
    any->opfuncid = get_opcode(cache->eq_opr);
    any->useOr = true;
    any->inputcollid = exprCollation(key);
    any->args = list_make2(copyObjectImpl(key), Placeholder(kTouchedValues + k, get_array_type(type)));
    any->location = -1;
    NullTest* null = makeNode(NullTest);
    null->arg = static_cast<Expr*>(copyObjectImpl(key));
    null->nulltesttype = IS_NULL;
    null->location = -1;
    Node* both =
        reinterpret_cast<Node*>(makeBoolExpr(AND_EXPR, list_make2(null, Placeholder(kTouchedNull + k, BOOLOID)), -1));
    return reinterpret_cast<Node*>(makeBoolExpr(OR_EXPR, list_make2(any, both), -1));
}

// Replaces placeholder $id (not followed by a digit) in printed SQL.
std::string ReplacePlaceholder(std::string sql, int id, const std::string& by) {
    const std::string mark = "$" + std::to_string(id);
    for (size_t at = sql.find(mark); at != std::string::npos; at = sql.find(mark, at + by.size())) {
        if (at + mark.size() < sql.size() && isdigit(static_cast<unsigned char>(sql[at + mark.size()]))) {
            at += mark.size() - by.size();
            continue;
        }
        sql.replace(at, mark.size(), by);
    }
    return sql;
}

// Adds `expr` to q's select list as column `name`, before its junk entries;
// returns its position.
AttrNumber InsertOutput(Query* q, Node* expr, const std::string& name) {
    return PgCall([&] {
        int position = 0;
        ListCell* tc;
        foreach (tc, q->targetList) {
            if (lfirst_node(TargetEntry, tc)->resjunk) break;
            ++position;
        }
        TargetEntry* entry = makeTargetEntry(static_cast<Expr*>(copyObjectImpl(expr)), AttrNumber(position + 1),
                                             pstrdup(name.c_str()), false);
        q->targetList = list_insert_nth(q->targetList, position, entry);
        int resno = 0;
        foreach (tc, q->targetList) lfirst_node(TargetEntry, tc)->resno = AttrNumber(++resno);
        return AttrNumber(position + 1);
    });
}

// The texts of a partitioned view's query (`printed`, its key columns in
// its select list): as it is, and restricted to the touched partitions of
// `keys` (conditions ANDed into the WHERE of the query level that computes
// the windows, which window_level finds in a copy).
void PrintPartitioned(Query* printed, const std::vector<Node*>& keys, const std::function<Query*(Query*)>& window_level,
                      core::PartitionRecompute& partitions) {
    partitions.query_sql = DeparseQuery(printed);
    if (keys.empty()) return;
    Query* touched = PgCall([&] {
        Query* copy = static_cast<Query*>(copyObjectImpl(printed));
        Query* level = window_level(copy);
        List* conditions = NIL;
        for (size_t k = 0; k < keys.size(); ++k)
            conditions = lappend(conditions, TouchedCondition(keys[k], static_cast<int>(k + 1)));
        level->jointree->quals =
            make_and_qual(level->jointree->quals, reinterpret_cast<Node*>(make_ands_explicit(conditions)));
        return copy;
    });
    std::string sql = DeparseQuery(touched);
    for (size_t n = 1; n <= keys.size(); ++n) {
        sql = ReplacePlaceholder(sql, kTouchedValues + static_cast<int>(n), core::TouchedValues(n));
        sql = ReplacePlaceholder(sql, kTouchedNull + static_cast<int>(n), core::TouchedNull(n));
    }
    partitions.touched_query_sql = sql;
}

// The partition keys of a window or DISTINCT ON query over one relation,
// checked: every expression the windows and the order read (also those
// outside the select list), keys with an equality.
std::vector<Node*> CheckedPartitionKeys(Query* q, const core::ViewDefinition& view) {
    const std::string what = q->hasWindowFuncs ? "a window function" : "DISTINCT ON";
    if (view.relations.size() != 1 || !view.constants.empty() || view.join_tree)
        Unsupported(what + " over several relations, functions in FROM or EXISTS",
                    "Create the query it reads as an IMMV of its own, and this query over that IMMV.");
    ListCell* lc;
    foreach (lc, q->targetList)
        CheckExpression(reinterpret_cast<Node*>(lfirst_node(TargetEntry, lc)->expr), false, true);
    const std::vector<Node*> keys = PartitionKeys(q);
    for (Node* key : keys) {
        const Oid type = PgCall([&] { return exprType(key); });
        if (!HasBtreeEquality(type))
            Unsupported(what + " partitioned by a type without equality (" + TypeName(type) + ")");
    }
    return keys;
}

// The value of a LIMIT or OFFSET clause: a constant (or constant
// expression); nullopt for none (OFFSET NULL, LIMIT NULL / ALL).
std::optional<long long> ConstantCount(Node* clause, const char* what) {
    if (clause == nullptr) return std::nullopt;
    struct Value {
        bool constant;
        bool null;
        long long value;
    };
    const Value v = PgCall([&] {
        Node* folded = eval_const_expressions(nullptr, clause);
        if (!IsA(folded, Const)) return Value{false, false, 0};
        Const* c = castNode(Const, folded);
        return Value{true, c->constisnull, c->constisnull ? 0LL : static_cast<long long>(DatumGetInt64(c->constvalue))};
    });
    if (!v.constant) Unsupported(std::string(what) + " with a value that is not a constant");
    if (v.null) return std::nullopt;
    if (v.value < 0)
        throw core::Error(core::sqlstate::kInvalidParameterValue, std::string(what) + " must not be negative");
    return v.value;
}

}  // namespace

// A select-list expression with window functions: its value is computed
// with its partition (core::PartitionRecompute); it is only checked here
// (its text comes with the query's: DescribePartitions).
void DescribeWindowColumn(core::OutputColumn& column, Node* expr) {
    CheckExpression(expr, false, true);
    column.role = core::ColumnRole::Plain;
    const Oid type = PgCall([&] { return exprType(expr); });
    column.type_sql = QualifiedTypeName(type, PgCall([&] { return exprTypmod(expr); }));
    column.has_equality = HasBtreeEquality(type);
}

// Window functions or DISTINCT ON over one relation (core::PartitionRecompute):
// the partition keys become hidden columns, and the query is printed as a
// whole, once as it is and once restricted to the touched partitions.
void DescribePartitions(Query* q, const RelationScope& deparse, core::ViewDefinition& view, int& hidden_keys) {
    const std::vector<Node*> keys = CheckedPartitionKeys(q, view);
    Query* printed = PgCall([&] { return static_cast<Query*>(copyObjectImpl(q)); });
    core::PartitionRecompute partitions;
    for (Node* key : keys) {
        core::OutputColumn column;
        DescribeWindowColumn(column, key);
        column.expression_sql = deparse(key);
        column.name = core::HiddenKeyColumn(++hidden_keys);
        column.hidden = true;
        partitions.keys.push_back(column.expression_sql);
        partitions.key_columns.push_back(column.name);
        InsertOutput(printed, key, column.name);
        view.columns.push_back(std::move(column));
    }
    PrintPartitioned(
        printed, keys, [](Query* copy) { return copy; }, partitions);
    view.partitions = std::move(partitions);
}

// The subquery of a query that only filters and projects the rows of one
// subquery in FROM computing window functions (the top n rows of each
// partition: SELECT ... FROM (SELECT ..., row_number() OVER (PARTITION BY
// g ORDER BY v) AS rn FROM t) s WHERE rn <= 3); nullptr for any other.
Query* WindowSubquery(Query* q) {
    if (q->commandType != CMD_SELECT || q->utilityStmt != nullptr || q->hasAggs || q->groupClause != NIL ||
        q->havingQual != nullptr || q->groupingSets != NIL || q->distinctClause != NIL || q->hasWindowFuncs ||
        q->hasSubLinks || q->hasTargetSRFs || q->setOperations != nullptr || q->cteList != NIL ||
        q->sortClause != NIL || q->limitCount != nullptr || q->limitOffset != nullptr || q->rowMarks != NIL)
        return nullptr;
    if (list_length(q->rtable) != 1 || q->jointree == nullptr || list_length(q->jointree->fromlist) != 1 ||
        !IsA(linitial(q->jointree->fromlist), RangeTblRef))
        return nullptr;
    auto* rte = static_cast<RangeTblEntry*>(linitial(q->rtable));
    if (rte->rtekind != RTE_SUBQUERY || rte->lateral || rte->subquery == nullptr || !rte->subquery->hasWindowFuncs)
        return nullptr;
    return rte->subquery;
}

// A query over a window subquery (WindowSubquery): the subquery is checked
// and described as a window view; the query's rows are those of its
// partitions too, so the partitions the changed rows touch are computed
// again through the whole query, restricted inside the subquery.
core::ViewDefinition DescribeOverWindows(Query* q, Query* sub, const core::ViewDefinition& inner) {
    core::ViewDefinition view;
    view.immv = inner.immv;
    view.relations = inner.relations;
    view.shape = core::ViewShape::Bag;
    CheckExpression(q->jointree->quals);
    ListCell* lc;
    foreach (lc, q->targetList) {
        auto* tle = lfirst_node(TargetEntry, lc);
        if (tle->resjunk) continue;
        CheckExpression(reinterpret_cast<Node*>(tle->expr));
        core::OutputColumn column;
        column.name = tle->resname != nullptr ? tle->resname : "?column?";
        DescribeWindowColumn(column, reinterpret_cast<Node*>(tle->expr));
        view.columns.push_back(std::move(column));
    }
    const std::vector<Node*> keys = PartitionKeys(sub);
    Query* printed = PgCall([&] { return static_cast<Query*>(copyObjectImpl(q)); });
    auto* rte = static_cast<RangeTblEntry*>(linitial(printed->rtable));
    core::PartitionRecompute partitions;
    for (size_t k = 0; k < keys.size(); ++k) {
        core::OutputColumn column;
        column.name = core::HiddenKeyColumn(k + 1);
        DescribeWindowColumn(column, keys[k]);
        column.expression_sql = inner.partitions->keys.at(k);
        column.hidden = true;
        const AttrNumber at = InsertOutput(rte->subquery, keys[k], column.name);
        PgCall([&] {
            rte->eref->colnames = lappend(rte->eref->colnames, makeString(pstrdup(column.name.c_str())));
            Var* var = makeVar(1, at, exprType(keys[k]), exprTypmod(keys[k]), exprCollation(keys[k]), 0);
            InsertOutput(printed, reinterpret_cast<Node*>(var), column.name);
        });
        partitions.keys.push_back(column.expression_sql);
        partitions.key_columns.push_back(column.name);
        view.columns.push_back(std::move(column));
    }
    PrintPartitioned(
        printed, keys, [](Query* copy) { return static_cast<RangeTblEntry*>(linitial(copy->rtable))->subquery; },
        partitions);
    view.partitions = std::move(partitions);
    return view;
}

// ORDER BY ... LIMIT / OFFSET of a view's query (a top-K): the order over
// the view's output columns, with explicit directions and NULLS placement.
core::TopK DescribeTopK(Query* q) {
    core::TopK top;
    ListCell* lc;
    foreach (lc, q->sortClause) {
        auto* sort = static_cast<SortGroupClause*>(lfirst(lc));
        TargetEntry* tle = PgCall([&] { return get_sortgroupclause_tle(sort, q->targetList); });
        if (tle->resjunk || tle->resname == nullptr)
            Unsupported("ORDER BY an expression that is not an output column",
                        "Add the expression to the select list and order by that column.");
        const Oid type = PgCall([&] { return exprType(reinterpret_cast<Node*>(tle->expr)); });
        TypeCacheEntry* cache = PgCall([&] { return lookup_type_cache(type, TYPECACHE_LT_OPR | TYPECACHE_GT_OPR); });
        const char* direction = sort->sortop == cache->lt_opr   ? "ASC"
                                : sort->sortop == cache->gt_opr ? "DESC"
                                                                : nullptr;
        if (direction == nullptr) Unsupported("ORDER BY ... USING an operator", "Order by ASC or DESC.");
        top.order_by.push_back(core::QuoteIdent(tle->resname) + " " + direction +
                               (sort->nulls_first ? " NULLS FIRST" : " NULLS LAST"));
    }
    const std::optional<long long> limit = ConstantCount(q->limitCount, "LIMIT");
    if (!limit) Unsupported("ORDER BY without LIMIT", "Order the rows when reading the IMMV.");
    top.limit = *limit;
    top.offset = ConstantCount(q->limitOffset, "OFFSET").value_or(0);
    top.with_ties = q->limitOption == LIMIT_OPTION_WITH_TIES;
    return top;
}

}  // namespace ivmx::pg
