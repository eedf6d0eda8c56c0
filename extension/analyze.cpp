// Analysis of an IMMV's defining query into the core's view IR
// (see extension/analyze.hpp).
//
// Everything the engine cannot maintain is rejected here with SQLSTATE
// feature_not_supported and a message naming the construct, before any
// object is created.
#include "analyze.hpp"

#include <algorithm>

#include "constant_relations.hpp"
#include "analyze_aggregate.hpp"
#include "analyze_checks.hpp"
#include "analyze_recomputed.hpp"
#include "analyze_set_operations.hpp"
#include "flatten.hpp"
#include "grouping_sets.hpp"
#include "ivmx/core/aggregate_rules.hpp"
#include "ivmx/core/distinct_values.hpp"
#include "ivmx/core/group_filter.hpp"
#include "ivmx/core/error.hpp"
#include "ivmx/core/sql_text.hpp"
#include "ivmx/core/join_tree.hpp"
#include "ivmx/core/set_operation.hpp"
#include "ivmx/pg/guards.hpp"
#include "pg_util.hpp"
#include "relation_scope.hpp"

namespace ivmx::pg {

namespace {

using core::NotSupported;

// Moves a syntax error position from the calling statement into the view
// definition text, the way SPI reports errors in internal queries.
void ViewQueryErrorCallback(void* arg) {
    int pos = geterrposition();
    if (pos > 0) {
        errposition(0);
        internalerrposition(pos);
        internalerrquery(static_cast<const char*>(arg));
    }
}

// Walker finding the first subquery expression of a tree. Plain data: a
// PostgreSQL callback that never throws.
bool FindSublink(Node* node, void* context) {
    if (node == nullptr) return false;
    if (IsA(node, SubLink)) {
        *static_cast<SubLink**>(context) = castNode(SubLink, node);
        return true;
    }
    return expression_tree_walker(node, reinterpret_cast<bool (*)()>(reinterpret_cast<void*>(FindSublink)), context);
}

// Names a subquery expression left after flattening, and where it is.
[[noreturn]] void RejectSublink(Query* q) {
    SubLink* link = nullptr;
    const bool in_select_list = PgCall([&] { return FindSublink(reinterpret_cast<Node*>(q->targetList), &link); });
    if (!in_select_list)
        PgCall([&] {
            return FindSublink(reinterpret_cast<Node*>(q->jointree), &link) || FindSublink(q->havingQual, &link);
        });
    std::string what = "a subquery";
    if (link != nullptr) {
        switch (link->subLinkType) {
            case EXISTS_SUBLINK:
                Unsupported("EXISTS (subquery) other than as a condition ANDed into WHERE",
                            "Write the condition as [NOT] EXISTS (...) AND ...; OR and NOT around EXISTS are "
                            "not maintained.");
            case ANY_SUBLINK:
                what = "IN / ANY (subquery)";
                break;
            case ALL_SUBLINK:
                what = "ALL (subquery)";
                break;
            case EXPR_SUBLINK:
                what = "a scalar subquery";
                break;
            case ARRAY_SUBLINK:
                what = "ARRAY (subquery)";
                break;
            default:
                what = "a subquery expression";
                break;
        }
    }
    const bool quantified = link != nullptr && (link->subLinkType == ANY_SUBLINK || link->subLinkType == ALL_SUBLINK);
    if (quantified && !in_select_list)
        Unsupported(what + " other than as a condition ANDed into WHERE",
                    "Write the condition as x [NOT] IN (...) AND ... (or with ANY / ALL); OR around it is not "
                    "maintained.");
    Unsupported(what + (in_select_list ? " in the select list" : " in a condition"),
                "Subqueries are supported in FROM, and as EXISTS, NOT EXISTS, IN, NOT IN, ANY and ALL conditions "
                "ANDed into the WHERE clause.");
}

void RejectUnsupportedClauses(Query* q) {
    if (q->commandType != CMD_SELECT || q->utilityStmt != nullptr)
        throw core::Error(core::sqlstate::kInvalidParameterValue, "view definition must be a single SELECT statement");
    if (q->hasRecursive) Unsupported("WITH RECURSIVE");
    if (q->hasModifyingCTE) Unsupported("a data-modifying WITH clause");
    if (q->cteList != NIL) Unsupported("a WITH clause");
    if (q->hasTargetSRFs) Unsupported("a set-returning function in the select list");
    if (q->hasSubLinks) RejectSublink(q);
    if (q->hasForUpdate || q->rowMarks != NIL) Unsupported("FOR UPDATE/SHARE");
    // (ORDER BY with LIMIT, a top-K, is taken apart first: DescribeView.)
    if (q->hasDistinctOn && (q->limitCount != nullptr || q->limitOffset != nullptr))
        Unsupported("DISTINCT ON with LIMIT/OFFSET",
                    "Create the DISTINCT ON query as an IMMV and its top rows as another.");
    if (q->hasDistinctOn && q->sortClause == NIL)
        Unsupported("DISTINCT ON without ORDER BY",
                    "The row kept of each group would be arbitrary: add an ORDER BY that picks one.");
    // (DISTINCT ON's ORDER BY picks a partition's row: DescribePartitions.)
    if (q->sortClause != NIL && !q->hasDistinctOn)
        Unsupported("ORDER BY without LIMIT", "Order the rows when reading the IMMV.");
    if (q->limitCount != nullptr || q->limitOffset != nullptr)
        Unsupported("LIMIT/OFFSET without ORDER BY",
                    "The rows it keeps would be arbitrary: add an ORDER BY that orders them completely.");
    if ((q->hasWindowFuncs || q->hasDistinctOn) && (q->hasAggs || q->groupClause != NIL))
        Unsupported(
            std::string(q->hasWindowFuncs ? "a window function" : "DISTINCT ON") + " with GROUP BY or aggregates",
            "Create the grouped query as an IMMV of its own and this query over it.");
    if (q->hasWindowFuncs && q->distinctClause != NIL)
        Unsupported("a window function with DISTINCT", "Create the query without DISTINCT as an IMMV of its own.");
    if (q->havingQual != nullptr && !q->hasAggs && q->groupClause == NIL)
        Unsupported("HAVING without GROUP BY or aggregates", "Write the condition in WHERE.");
    if (q->distinctClause != NIL && (q->hasAggs || q->groupClause != NIL))
        Unsupported("DISTINCT combined with GROUP BY or aggregates");
}

const char* RelkindWord(char relkind) {
    switch (relkind) {
        case RELKIND_VIEW:
            return "a view";
        case RELKIND_MATVIEW:
            return "a materialized view";
        case RELKIND_FOREIGN_TABLE:
            return "a foreign table";
        case RELKIND_PARTITIONED_TABLE:
            return "a partitioned table";
        default:
            return "this kind of relation";
    }
}

// Checks one base relation of the FROM clause.
void CheckBaseRelation(RangeTblEntry* table) {
    if (table->tablesample != nullptr) Unsupported("TABLESAMPLE");
    const Oid relid = table->relid;
    const char relkind = table->relkind;
    const char* rel_name = PgCall([&] { return get_rel_name(relid); });
    const std::string name = rel_name != nullptr ? rel_name : "?";
    // Partitioned tables and inheritance parents are read with their
    // descendants (extension/hierarchy.hpp).
    if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
        throw NotSupported(std::string(RelkindWord(relkind)) + " as the base of an IMMV is not supported",
                           "\"" + name + "\" is " + RelkindWord(relkind) + ".");
    bool child = false, is_catalog = false, is_temp = false;
    PgCall([&] {
        // An inheritance child (not a partition): a statement naming its
        // parent changes its rows without telling which rows are its own.
        child = !get_rel_relispartition(relid) && has_superclass(relid);
        is_catalog =
            IsCatalogNamespace(get_rel_namespace(relid)) || get_rel_namespace(relid) == get_namespace_oid("ivmx", true);
        is_temp = get_rel_persistence(relid) == RELPERSISTENCE_TEMP;
    });
    if (!table->inh)
        throw NotSupported("ONLY in FROM is not supported",
                           "IMMVs read a table with its partitions and inheritance children.",
                           "Name \"" + name + "\" without ONLY.");
    if (child)
        throw NotSupported("an inheritance child as the base of an IMMV is not supported",
                           "\"" + name +
                               "\" inherits from another table: statements naming the parent change its rows "
                               "unseen.",
                           "Read the parent, or make the child a partition of a partitioned table.");
    if (is_catalog)
        throw NotSupported("system catalogs as the base of an IMMV are not supported",
                           "\"" + name + "\" is a catalog table.");
    if (is_temp)
        throw NotSupported("temporary tables as the base of an IMMV are not supported",
                           "\"" + name + "\" is a temporary table.");
    // Another IMMV is a valid base: its own maintenance writes are captured
    // like any other change (nested IMMVs).
}

// Checks the FROM clause: plain tables and functions in FROM (constant
// relations). A view without any reads no table: it never changes.
void CheckFromClause(Query* q) {
    for (int i = 0; i < list_length(q->rtable); ++i) {
        RangeTblEntry* rte = static_cast<RangeTblEntry*>(list_nth(q->rtable, i));
        switch (rte->rtekind) {
            case RTE_RELATION:
                CheckBaseRelation(rte);
                break;
            case RTE_JOIN:
                break;
            case RTE_RESULT:  // a subquery pulled up by FlattenViewQuery
                break;
            case RTE_SUBQUERY:
                // A set operation, left a FROM item by FlattenViewQuery: its
                // operands are checked when described (AttachUnion).
                if (rte->subquery != nullptr && rte->subquery->setOperations != nullptr) break;
                Unsupported("a subquery in FROM");
            case RTE_FUNCTION:  // a constant relation, checked when described
                break;
            case RTE_VALUES:
                Unsupported("VALUES in FROM");
            default:
                Unsupported("this kind of FROM item");
        }
    }
}

// Join conditions and WHERE of the jointree, as a list of expressions to AND.
void CollectQuals(Node* node, List** quals) {
    if (node == nullptr || IsA(node, RangeTblRef)) return;
    if (IsA(node, FromExpr)) {
        FromExpr* from = castNode(FromExpr, node);
        ListCell* lc;
        foreach (lc, from->fromlist) CollectQuals(static_cast<Node*>(lfirst(lc)), quals);
        if (from->quals != nullptr) *quals = lappend(*quals, from->quals);
    } else if (IsA(node, JoinExpr)) {
        JoinExpr* join = castNode(JoinExpr, node);
        CollectQuals(join->larg, quals);
        CollectQuals(join->rarg, quals);
        if (join->quals != nullptr) *quals = lappend(*quals, join->quals);
    }
}

// Whether the join tree has an outer, semi- or anti-join.
bool HasNonInnerJoin(Node* node) {
    if (node == nullptr || IsA(node, RangeTblRef)) return false;
    if (IsA(node, JoinExpr)) {
        JoinExpr* join = castNode(JoinExpr, node);
        return join->jointype != JOIN_INNER || HasNonInnerJoin(join->larg) || HasNonInnerJoin(join->rarg);
    }
    ListCell* lc;
    foreach (lc, castNode(FromExpr, node)->fromlist)
        if (HasNonInnerJoin(static_cast<Node*>(lfirst(lc)))) return true;
    return false;
}

std::string Condition(Node* quals, const RelationScope& deparse) {
    if (quals == nullptr) return {};
    CheckExpression(quals);
    return deparse(quals);
}

core::JoinTree JoinNode(core::JoinTree::Kind kind, std::string condition, core::JoinTree left, core::JoinTree right) {
    core::JoinTree node;
    node.kind = kind;
    node.condition_sql = std::move(condition);
    node.children.push_back(std::move(left));
    node.children.push_back(std::move(right));
    return node;
}

core::JoinTree BuildJoinTree(Node* node, const RelationScope& deparse);

// The items of a FROM list, cross-joined. An empty one (SELECT 1 WHERE
// EXISTS (...): EXISTS made a semi-join of nothing) is the one-row relation
// without columns, numbered after the functions in FROM (DescribeView adds
// it to the view's constant relations).
core::JoinTree CrossJoin(List* items, const RelationScope& deparse) {
    if (items == NIL) {
        core::JoinTree unit;
        unit.kind = core::JoinTree::Kind::Constant;
        unit.occurrence = deparse.constant_count();
        return unit;
    }
    core::JoinTree tree = BuildJoinTree(static_cast<Node*>(linitial(items)), deparse);
    for (int i = 1; i < list_length(items); ++i)
        tree = JoinNode(core::JoinTree::Kind::Inner, {}, std::move(tree),
                        BuildJoinTree(static_cast<Node*>(list_nth(items, i)), deparse));
    return tree;
}

core::JoinTree BuildJoinTree(Node* node, const RelationScope& deparse) {
    using Kind = core::JoinTree::Kind;
    if (IsA(node, RangeTblRef)) {
        const RelationScope::Item item = deparse.ItemOf(castNode(RangeTblRef, node)->rtindex);
        core::JoinTree leaf;
        leaf.kind = item.constant ? Kind::Constant : Kind::Relation;
        leaf.occurrence = item.index;
        return leaf;
    }
    if (IsA(node, FromExpr)) {
        FromExpr* from = castNode(FromExpr, node);
        core::JoinTree tree = CrossJoin(from->fromlist, deparse);
        if (from->quals == nullptr) return tree;
        core::JoinTree filter;
        filter.kind = Kind::Filter;
        filter.condition_sql = Condition(from->quals, deparse);
        filter.children.push_back(std::move(tree));
        return filter;
    }
    JoinExpr* join = castNode(JoinExpr, node);
    std::string condition = Condition(join->quals, deparse);
    core::JoinTree left = BuildJoinTree(join->larg, deparse);
    core::JoinTree right = BuildJoinTree(join->rarg, deparse);
    switch (join->jointype) {
        case JOIN_INNER:
            return JoinNode(Kind::Inner, condition, std::move(left), std::move(right));
        case JOIN_LEFT:
            return JoinNode(Kind::Left, condition, std::move(left), std::move(right));
        case JOIN_RIGHT:
            return JoinNode(Kind::Left, condition, std::move(right), std::move(left));
        case JOIN_FULL:
            return JoinNode(Kind::Full, condition, std::move(left), std::move(right));
        case JOIN_SEMI:
            return JoinNode(Kind::Semi, condition, std::move(left), std::move(right));
        case JOIN_ANTI:
            return JoinNode(Kind::Anti, condition, std::move(left), std::move(right));
        default:
            Unsupported("this kind of join");
    }
}

// The join tree of the FROM clause; the top-level WHERE goes to where_sql.
core::JoinTree TopJoinTree(FromExpr* from, const RelationScope& deparse, std::string& where_sql) {
    where_sql = Condition(from->quals, deparse);
    return CrossJoin(from->fromlist, deparse);
}

// Whether a normalized expression is a NOT NULL column of its relation.
bool IsNotNullColumn(Node* expr, const RelationScope& scope) {
    if (!IsA(expr, Var)) return false;
    Var* var = castNode(Var, expr);
    if (var->varno < 1 || size_t(var->varno) > scope.size()) return false;
    const Oid relid = scope.relid(var->varno - 1);
    return PgCall([&] {
        HeapTuple tup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid), Int16GetDatum(var->varattno));
        if (!HeapTupleIsValid(tup)) return false;
        bool not_null = reinterpret_cast<Form_pg_attribute>(GETSTRUCT(tup))->attnotnull;
        ReleaseSysCache(tup);
        return not_null;
    });
}

// The operands of an expression over aggregates. Plain data: the mutator
// runs inside PgCall.
struct OperandContext {
    List* group_exprs = NIL;  // the GROUP BY expressions, join aliases flattened
    List* operands = NIL;     // the nodes replaced by $1, $2, ...: aggregate calls, GROUP BY expressions, columns
};

// Replaces, in an expression of a grouped select list (join aliases
// flattened), every aggregate call, every GROUP BY expression and every
// other column (one the group's key determines) by a parameter $n naming
// it. A PostgreSQL mutator callback: never throws.
Node* ReplaceOperands(Node* node, void* context) {
    if (node == nullptr) return nullptr;
    auto* ctx = static_cast<OperandContext*>(context);
    bool operand = IsA(node, Aggref) || IsA(node, Var);
    ListCell* lc;
    foreach (lc, ctx->group_exprs)
        if (!operand && equal(node, lfirst(lc))) operand = true;
    if (!operand)
        return expression_tree_mutator(node, reinterpret_cast<Node* (*)()>(reinterpret_cast<void*>(ReplaceOperands)),
                                       context);
    ctx->operands = lappend(ctx->operands, node);
    Param* param = makeNode(Param);
    param->paramkind = PARAM_EXTERN;
    param->paramid = list_length(ctx->operands);
    param->paramtype = exprType(node);
    param->paramtypmod = exprTypmod(node);
    param->paramcollid = exprCollation(node);
    param->location = -1;
    return reinterpret_cast<Node*>(param);
}

// A select-list expression over aggregates, described after the loop over
// the select list (its operands may be group keys that come later).
struct PendingExpression {
    size_t column;  // index into view.columns
    Node* expr;
};

// Fills in a key column (a GROUP BY expression or any expression of the
// group) from its expression.
void DescribeKey(core::OutputColumn& column, Node* expr, const RelationScope& deparse, bool under_outer_join) {
    CheckExpression(expr);
    column.expression_sql = deparse(expr);
    column.role = core::ColumnRole::GroupKey;
    Oid type = PgCall([&] { return exprType(expr); });
    column.type_sql = QualifiedTypeName(type, PgCall([&] { return exprTypmod(expr); }));
    column.has_equality = HasBtreeEquality(type);
    // Below an outer join even a NOT NULL column may read NULL.
    column.not_null = !under_outer_join && IsNotNullColumn(deparse.Normalize(expr), deparse);
}

// The column holding the value of one operand of an expression over
// aggregates: an identical aggregate or key column of the view, or a hidden
// one added for it.
size_t OperandColumn(Node* operand, const RelationScope& deparse, core::ViewDefinition& view, int& hidden_keys,
                     int& hidden_aggregates) {
    core::OutputColumn column;
    if (IsA(operand, Aggref)) {
        DescribeAggregateColumn(column, castNode(Aggref, operand), [&](Node* n) { return deparse(n); });
        for (size_t i = 0; i < view.columns.size(); ++i)
            if (view.columns[i].role == core::ColumnRole::Aggregate &&
                core::SameAggregate(*view.columns[i].aggregate, *column.aggregate))
                return i;
        column.name = core::HiddenAggregateColumn(++hidden_aggregates);
    } else {
        DescribeKey(column, operand, deparse, view.join_tree.has_value());
        for (size_t i = 0; i < view.columns.size(); ++i)
            if (core::IsKeyColumn(view.columns[i]) && view.columns[i].expression_sql == column.expression_sql) return i;
        column.name = core::HiddenKeyColumn(++hidden_keys);
    }
    column.hidden = true;
    view.columns.push_back(std::move(column));
    return view.columns.size() - 1;
}

// Describes the select-list expressions over aggregates: each aggregate call
// and group key in them becomes an operand $n naming a column of the view
// (hidden if the select list does not have it), and the expression is kept
// as a template over them (OutputColumn::expression_sql).
void DescribeExpressions(Query* q, const RelationScope& deparse, const std::vector<PendingExpression>& pending,
                         core::ViewDefinition& view, int& hidden_keys) {
    int hidden_aggregates = 0;
    for (const PendingExpression& p : pending) {
        OperandContext ctx;
        Node* replaced = PgCall([&] {
            ListCell* lc;
            foreach (lc, q->groupClause) {
                Node* key = get_sortgroupclause_expr(lfirst_node(SortGroupClause, lc), q->targetList);
                ctx.group_exprs = lappend(ctx.group_exprs, flatten_join_alias_vars(q, key));
            }
            return ReplaceOperands(flatten_join_alias_vars(q, p.expr), &ctx);
        });
        CheckExpression(replaced, true);
        std::vector<size_t> operands;
        ListCell* lc;
        foreach (lc, ctx.operands)
            operands.push_back(
                OperandColumn(static_cast<Node*>(lfirst(lc)), deparse, view, hidden_keys, hidden_aggregates));
        core::OutputColumn& column = view.columns[p.column];
        column.expression_sql = deparse(replaced);
        column.operands = std::move(operands);
        Oid type = PgCall([&] { return exprType(p.expr); });
        column.type_sql = QualifiedTypeName(type, PgCall([&] { return exprTypmod(p.expr); }));
        column.has_equality = HasBtreeEquality(type);
    }
}

bool IsGroupedBy(Query* q, TargetEntry* tle) {
    if (tle->ressortgroupref == 0) return false;
    return PgCall([&] {
        ListCell* lc;
        foreach (lc, q->groupClause) {
            if (lfirst_node(SortGroupClause, lc)->tleSortGroupRef == tle->ressortgroupref) return true;
        }
        return false;
    });
}

// A column of a relation occurrence: (occurrence, 1-based; attribute number).
using OccurrenceColumn = std::pair<int, AttrNumber>;

// Pairs of columns that the inner join conditions make equal: conjuncts
// `x = y` of two columns of one type under the type's default equality, so
// that a row of the view holds the same value in both (and a key of one
// relation may be read from the other: a foreign key joined to it).
std::vector<std::pair<OccurrenceColumn, OccurrenceColumn>> EqualColumns(List* quals, const RelationScope& scope) {
    std::vector<std::pair<OccurrenceColumn, OccurrenceColumn>> equal;
    ListCell* lc;
    foreach (lc, quals) {
        Node* normalized = scope.Normalize(static_cast<Node*>(lfirst(lc)));
        List* conjuncts = PgCall([&] { return make_ands_implicit(reinterpret_cast<Expr*>(normalized)); });
        ListCell* cc;
        foreach (cc, conjuncts) {
            auto* op = static_cast<Node*>(lfirst(cc));
            if (!IsA(op, OpExpr) || list_length(castNode(OpExpr, op)->args) != 2) continue;
            auto* l = static_cast<Node*>(linitial(castNode(OpExpr, op)->args));
            auto* r = static_cast<Node*>(lsecond(castNode(OpExpr, op)->args));
            if (!IsA(l, Var) || !IsA(r, Var)) continue;
            Var* a = castNode(Var, l);
            Var* b = castNode(Var, r);
            if (a->varlevelsup != 0 || b->varlevelsup != 0 || a->vartype != b->vartype) continue;
            const Oid eq = PgCall([&] { return lookup_type_cache(a->vartype, TYPECACHE_EQ_OPR)->eq_opr; });
            if (!OidIsValid(eq) || castNode(OpExpr, op)->opno != eq) continue;
            equal.push_back({{a->varno, a->varattno}, {b->varno, b->varattno}});
        }
    }
    return equal;
}

// For a bag view over inner joins: the output columns that together carry
// the primary key of every relation occurrence, each key column directly or
// through a column the join conditions make equal to it; empty when some
// key is not in the output. plain_vars[i] is the normalized Var output
// column i reads directly, if any.
std::vector<std::string> RowKeyColumns(const std::vector<core::OutputColumn>& columns,
                                       const std::vector<Var*>& plain_vars,
                                       const std::vector<std::pair<OccurrenceColumn, OccurrenceColumn>>& equal,
                                       const RelationScope& scope) {
    // The columns equal to `column` (itself included), by closure over `equal`.
    auto equivalents = [&](OccurrenceColumn column) {
        std::vector<OccurrenceColumn> found{column};
        for (size_t i = 0; i < found.size(); ++i)
            for (const auto& [x, y] : equal) {
                const OccurrenceColumn other = x == found[i] ? y : y == found[i] ? x : OccurrenceColumn{0, 0};
                if (other.first != 0 && std::find(found.begin(), found.end(), other) == found.end())
                    found.push_back(other);
            }
        return found;
    };
    std::vector<std::string> key;
    for (size_t occurrence = 1; occurrence <= scope.size(); ++occurrence) {
        const Oid relid = scope.relid(occurrence - 1);
        // A palloc'd set of attribute numbers, read after the guard.
        Bitmapset* pk = PgCall([&] {
            Oid constraint = InvalidOid;
            return get_primary_key_attnos(relid, false, &constraint);
        });
        if (pk == nullptr) return {};
        int member = -1;
        while ((member = bms_next_member(pk, member)) >= 0) {
            const AttrNumber attnum = member + FirstLowInvalidHeapAttributeNumber;
            const std::vector<OccurrenceColumn> same = equivalents({int(occurrence), attnum});
            bool found = false;
            for (size_t i = 0; i < columns.size() && !found; ++i)
                if (plain_vars[i] != nullptr &&
                    std::find(same.begin(), same.end(),
                              OccurrenceColumn{plain_vars[i]->varno, plain_vars[i]->varattno}) != same.end()) {
                    if (std::find(key.begin(), key.end(), columns[i].name) == key.end()) key.push_back(columns[i].name);
                    found = true;
                }
            if (!found) return {};
        }
    }
    return key;
}

}  // namespace

Query* ParseViewQuery(const std::string& sql) {
    return PgCall([&] {
        ErrorContextCallback callback;
        callback.callback = ViewQueryErrorCallback;
        callback.arg = const_cast<char*>(sql.c_str());
        callback.previous = error_context_stack;
        error_context_stack = &callback;
        List* raw = pg_parse_query(sql.c_str());
        if (list_length(raw) != 1)
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                            errmsg("view definition must be a single SELECT statement")));
        RawStmt* stmt = linitial_node(RawStmt, raw);
        if (!IsA(stmt->stmt, SelectStmt))
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                            errmsg("view definition must be a single SELECT statement")));
        Query* query = compat::AnalyzeRawStatement(stmt, sql.c_str());
        error_context_stack = callback.previous;
        return query;
    });
}

std::vector<Oid> BaseRelations(Query* query) {
    if (Query* windows = WindowSubquery(query)) return BaseRelations(windows);
    query = FlattenViewQuery(query);
    std::vector<Oid> relids;
    auto add_leaves = [&](Query* set_operation) {
        for (Query* leaf : SetOperationLeaves(set_operation))
            for (Oid relid : BaseRelations(leaf))
                if (std::find(relids.begin(), relids.end(), relid) == relids.end()) relids.push_back(relid);
    };
    if (query->setOperations != nullptr) {
        add_leaves(query);
        return relids;
    }
    for (int i = 0; i < list_length(query->rtable); ++i) {
        auto* rte = static_cast<RangeTblEntry*>(list_nth(query->rtable, i));
        if (rte->rtekind == RTE_RELATION && std::find(relids.begin(), relids.end(), rte->relid) == relids.end())
            relids.push_back(rte->relid);
        if (rte->rtekind == RTE_SUBQUERY && rte->subquery != nullptr && rte->subquery->setOperations != nullptr)
            add_leaves(rte->subquery);
    }
    return relids;
}

std::string DeparseQuery(Query* query) {
    return WithMaintenanceSettings([&] {
        return std::string(PgCall([&] { return pg_get_querydef(static_cast<Query*>(copyObjectImpl(query)), false); }));
    });
}

namespace {

// A view's query without its ORDER BY ... LIMIT (see DescribeView).
core::ViewDefinition DescribeQuery(Query* q, const core::QualifiedName& immv, bool check_relations) {
    if (Query* windows = WindowSubquery(q))
        return DescribeOverWindows(q, windows, DescribeQuery(windows, immv, check_relations));
    if (q->commandType == CMD_SELECT && q->utilityStmt == nullptr) q = FlattenViewQuery(q);
    GroupingSetsRewrite grouping_sets;
    if (q->groupingSets != NIL) q = RewriteGroupingSets(q, grouping_sets);
    RejectUnsupportedClauses(q);
    const DescribeOperand describe = [&](Query* operand) { return DescribeQuery(operand, immv, check_relations); };
    if (q->setOperations != nullptr) return DescribeSetOperation(q, immv, describe);
    if (check_relations) CheckFromClause(q);
    std::vector<Query*> unions;  // set operations in FROM
    core::ViewDefinition described = WithMaintenanceSettings([&] {
        RelationScope deparse(q);
        unions = deparse.union_queries();
        core::ViewDefinition view;
        view.immv = immv;
        for (size_t i = 0; i < deparse.size(); ++i)
            view.relations.push_back(
                {RelationName(deparse.relid(i)), deparse.quoted_alias(i), deparse.relid(i), deparse.columns_read(i)});
        for (size_t k = 0; k < deparse.constant_count(); ++k) view.constants.push_back(DescribeConstant(deparse, k));
        const bool grouped = q->hasAggs || q->groupClause != NIL;
        view.shape = q->groupClause != NIL                           ? core::ViewShape::Grouped
                     : q->hasAggs                                    ? core::ViewShape::GlobalAggregate
                     : q->distinctClause != NIL && !q->hasDistinctOn ? core::ViewShape::Distinct
                                                                     : core::ViewShape::Bag;
        if (HasNonInnerJoin(reinterpret_cast<Node*>(q->jointree))) {
            view.join_tree = TopJoinTree(q->jointree, deparse, view.where_sql);
            if (core::NamesConstant(*view.join_tree, view.constants.size()))
                view.constants.push_back(core::UnitRelation());
            core::ValidateJoinTree(view);
        }
        List* quals = NIL;  // the inner join's conditions
        if (!view.join_tree) {
            PgCall([&] { CollectQuals(reinterpret_cast<Node*>(q->jointree), &quals); });
            if (quals != NIL) {
                Node* conditions = PgCall([&] { return reinterpret_cast<Node*>(make_ands_explicit(quals)); });
                CheckExpression(conditions);
                view.where_sql = deparse(conditions);
            }
        }
        std::vector<Var*> plain_vars;
        std::vector<PendingExpression> expressions;
        int hidden_keys = 0;
        for (int i = 0; i < list_length(q->targetList); ++i) {
            auto* tle = static_cast<TargetEntry*>(list_nth(q->targetList, i));
            core::OutputColumn column;
            Node* expr = reinterpret_cast<Node*>(tle->expr);
            const bool group_key = IsGroupedBy(q, tle);
            if (tle->resjunk) {
                if (!group_key) continue;  // ORDER BY leftovers are rejected earlier
                column.name = core::HiddenKeyColumn(++hidden_keys);
                column.hidden = true;
            } else {
                column.name = tle->resname != nullptr ? tle->resname : "?column?";
            }
            if (q->hasWindowFuncs && PgCall([&] { return contain_window_function(expr); })) {
                DescribeWindowColumn(column, expr);
            } else if (IsA(expr, Aggref)) {
                DescribeAggregateColumn(column, castNode(Aggref, expr), [&](Node* n) { return deparse(n); });
            } else if (PgCall([&] { return contain_agg_clause(expr); })) {
                // Described once every group key is known (DescribeExpressions).
                column.role = core::ColumnRole::AggregateExpression;
                expressions.push_back({view.columns.size(), expr});
            } else {
                DescribeKey(column, expr, deparse, view.join_tree.has_value());
                // In a grouped view every non-aggregate output is a function of
                // the group (possibly through a primary key's functional
                // dependency): keying rows by all of them gives the same groups.
                column.role = group_key || grouped || view.shape == core::ViewShape::Distinct
                                  ? core::ColumnRole::GroupKey
                                  : core::ColumnRole::Plain;
            }
            Node* normalized = deparse.Normalize(expr);
            plain_vars.push_back(IsA(normalized, Var) ? castNode(Var, normalized) : nullptr);
            view.columns.push_back(std::move(column));
        }
        if (view.columns.empty()) throw NotSupported("an IMMV must have at least one column");
        if (q->havingQual != nullptr) {
            // The condition is kept like an expression over aggregates, in
            // a hidden column of every group's state (core/group_filter.hpp).
            core::OutputColumn having;
            having.name = core::HavingColumn();
            having.role = core::ColumnRole::AggregateExpression;
            having.hidden = true;
            expressions.push_back({view.columns.size(), q->havingQual});
            view.columns.push_back(std::move(having));
            view.groups_table = core::CompanionName(immv, core::kGroupsSuffix);
        }
        if (!expressions.empty()) DescribeExpressions(q, deparse, expressions, view, hidden_keys);
        if (q->hasWindowFuncs || q->hasDistinctOn) DescribePartitions(q, deparse, view, hidden_keys);
        if (grouping_sets.set_number != nullptr) DescribeGroupingSets(q, grouping_sets, deparse, view);
        core::AddDistinctValues(view);
        plain_vars.resize(view.columns.size(), nullptr);
        // A constant relation has no key: the keys of the relations then do
        // not identify the view's rows.
        if (view.shape == core::ViewShape::Bag && !view.join_tree && view.constants.empty() && unions.empty())
            view.row_key_columns = RowKeyColumns(view.columns, plain_vars, EqualColumns(quals, deparse), deparse);
        return view;
    });
    if (!unions.empty()) AttachUnion(described, unions, describe);
    return described;
}

}  // namespace

core::ViewDefinition DescribeView(Query* q, const core::QualifiedName& immv, bool check_relations) {
    const bool top_k = q->commandType == CMD_SELECT && q->sortClause != NIL && !q->hasDistinctOn &&
                       (q->limitCount != nullptr || q->limitOffset != nullptr);
    if (!top_k) return DescribeQuery(q, immv, check_relations);
    const core::TopK top = DescribeTopK(q);
    Query* rest = PgCall([&] { return static_cast<Query*>(copyObjectImpl(q)); });
    rest->sortClause = NIL;
    rest->limitCount = nullptr;
    rest->limitOffset = nullptr;
    rest->limitOption = LIMIT_OPTION_DEFAULT;
    core::ViewDefinition view = DescribeQuery(rest, immv, check_relations);
    if (view.groups_table || !view.distinct_values.empty())
        throw NotSupported(
            "ORDER BY ... LIMIT over HAVING, DISTINCT aggregates or set operations other than UNION ALL "
            "is not supported",
            "",
            "Create the query without ORDER BY and LIMIT as an IMMV, and the top rows of that IMMV as "
            "another.");
    view.top_k = top;
    return view;
}

}  // namespace ivmx::pg
