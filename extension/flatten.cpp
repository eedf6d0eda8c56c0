// Flattening of an IMMV's defining query (see extension/flatten.hpp).
#include "flatten.hpp"

#include <string>
#include <vector>

#include "ivmx/core/error.hpp"
#include "ivmx/pg/guards.hpp"
#include "quantified_sublinks.hpp"

namespace ivmx::pg {

namespace {

[[noreturn]] void Unsupported(const std::string& construct, const std::string& hint = {}) {
    throw core::NotSupported(construct + " is not supported on incrementally maintainable materialized views", {},
                             hint);
}

void Flatten(Query* q);

// ---- WITH queries -------------------------------------------------------

// Walker state: the query whose WITH list is inlined, and how many query
// levels below it the walk is. Plain data: the walker is a PostgreSQL
// callback and never throws.
struct CteInlining {
    Query* top;
    int depth;
};

bool InlineCteReferences(Node* node, void* context);

// Turns a reference to one of top's WITH queries into a subquery holding a
// copy of it, adjusted to the depth of the reference.
void InlineCteReference(RangeTblEntry* rte, CteInlining* ctx) {
    ListCell* lc;
    foreach (lc, ctx->top->cteList) {
        CommonTableExpr* cte = lfirst_node(CommonTableExpr, lc);
        if (strcmp(cte->ctename, rte->ctename) != 0) continue;
        if (!IsA(cte->ctequery, Query) || castNode(Query, cte->ctequery)->commandType != CMD_SELECT)
            ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                            errmsg("a data-modifying WITH clause is not supported on incrementally "
                                   "maintainable materialized views")));
        Query* copy = static_cast<Query*>(copyObjectImpl(cte->ctequery));
        if (ctx->depth > 0) IncrementVarSublevelsUp(reinterpret_cast<Node*>(copy), ctx->depth, 1);
        rte->rtekind = RTE_SUBQUERY;
        rte->subquery = copy;
        rte->security_barrier = false;
        rte->ctename = nullptr;
        rte->ctelevelsup = 0;
        rte->self_reference = false;
        return;
    }
    elog(ERROR, "pg_ivmx could not find WITH query \"%s\"", rte->ctename);
}

bool InlineCteReferences(Node* node, void* context) {
    if (node == nullptr) return false;
    auto* ctx = static_cast<CteInlining*>(context);
    if (IsA(node, RangeTblEntry)) {
        auto* rte = reinterpret_cast<RangeTblEntry*>(node);
        if (rte->rtekind == RTE_CTE && int(rte->ctelevelsup) == ctx->depth) InlineCteReference(rte, ctx);
        return false;
    }
    if (IsA(node, Query)) {
        ++ctx->depth;
        bool result = query_tree_walker(castNode(Query, node),
                                        reinterpret_cast<bool (*)()>(reinterpret_cast<void*>(InlineCteReferences)),
                                        context, QTW_EXAMINE_RTES_BEFORE);
        --ctx->depth;
        return result;
    }
    return expression_tree_walker(node, reinterpret_cast<bool (*)()>(reinterpret_cast<void*>(InlineCteReferences)),
                                  context);
}

void InlineCtes(Query* q) {
    if (q->cteList == NIL) return;
    if (q->hasRecursive) Unsupported("WITH RECURSIVE");
    if (q->hasModifyingCTE) Unsupported("a data-modifying WITH clause");
    PgCall([&] {
        CteInlining ctx{q, 0};
        query_tree_walker(q, reinterpret_cast<bool (*)()>(reinterpret_cast<void*>(InlineCteReferences)), &ctx,
                          QTW_EXAMINE_RTES_BEFORE);
    });
    q->cteList = NIL;
}

// ---- Subqueries ---------------------------------------------------------

// Rejects what a pulled-up subquery may not contain; `what` names it.
void CheckSimpleSubquery(Query* sub, const std::string& what, bool in_from) {
    if (sub->commandType != CMD_SELECT || sub->utilityStmt != nullptr) Unsupported(what + " that is not a SELECT");
    if (sub->hasAggs || sub->groupClause != NIL || sub->havingQual != nullptr || sub->groupingSets != NIL)
        Unsupported(what + " with aggregates or GROUP BY");
    if (sub->hasWindowFuncs) Unsupported(what + " with a window function");
    if (sub->hasTargetSRFs) Unsupported(what + " with a set-returning function");
    if (sub->setOperations != nullptr) Unsupported(what + " with UNION/INTERSECT/EXCEPT");
    if (sub->limitCount != nullptr || sub->limitOffset != nullptr) Unsupported(what + " with LIMIT/OFFSET");
    if (in_from && (sub->distinctClause != NIL || sub->hasDistinctOn)) Unsupported(what + " with DISTINCT");
    if (sub->hasForUpdate || sub->rowMarks != NIL) Unsupported(what + " with FOR UPDATE/SHARE");
    if (sub->hasSubLinks)
        Unsupported(what +
                    " with a subquery other than an EXISTS, NOT EXISTS, IN / ANY or ALL condition ANDed into its WHERE "
                    "clause");
    if (sub->jointree == nullptr || sub->jointree->fromlist == NIL) Unsupported(what + " without FROM");
}

// Moves the range table of sub to the end of q's and renumbers sub's
// references to it accordingly.
void AppendRangeTable(Query* q, Query* sub) {
    PgCall([&] {
        OffsetVarNodes(reinterpret_cast<Node*>(sub), list_length(q->rtable), 0);
        q->rtable = list_concat(q->rtable, sub->rtable);
    });
}

// The conjuncts of an AND tree.
void CollectConjuncts(Node* node, List** out) {
    if (node == nullptr) return;
    if (IsA(node, BoolExpr) && castNode(BoolExpr, node)->boolop == AND_EXPR) {
        ListCell* lc;
        foreach (lc, castNode(BoolExpr, node)->args) CollectConjuncts(static_cast<Node*>(lfirst(lc)), out);
        return;
    }
    *out = PgCall([&] { return lappend(*out, node); });
}

// Whether a condition inside the join tree node (of a subquery being pulled
// up) reads columns of the query one level up.
bool HasCorrelatedCondition(Node* node) {
    if (node == nullptr || IsA(node, RangeTblRef)) return false;
    if (IsA(node, JoinExpr)) {
        JoinExpr* join = castNode(JoinExpr, node);
        return contain_vars_of_level(join->quals, 1) || HasCorrelatedCondition(join->larg) ||
               HasCorrelatedCondition(join->rarg);
    }
    FromExpr* from = castNode(FromExpr, node);
    ListCell* lc;
    foreach (lc, from->fromlist)
        if (HasCorrelatedCondition(static_cast<Node*>(lfirst(lc)))) return true;
    return contain_vars_of_level(from->quals, 1);
}

// Rejects a flattened EXISTS subquery that refers to the outer query
// anywhere but in its own WHERE clause (which becomes the semi- or
// anti-join's condition): in a join's ON condition, in a nested [NOT]
// EXISTS / IN condition, in a subquery in its FROM. Maintenance computes
// such a condition where the outer query's relations are not in scope.
void CheckCorrelationInWhereOnly(Query* sub, const std::string& what) {
    const bool correlated = PgCall([&] {
        ListCell* lc;
        foreach (lc, sub->jointree->fromlist)
            if (HasCorrelatedCondition(static_cast<Node*>(lfirst(lc)))) return true;
        return false;
    });
    if (correlated)
        Unsupported(what +
                        " whose join conditions, nested subqueries or subqueries in FROM read columns of the "
                        "outer query",
                    "Only the subquery's own WHERE clause may refer to the outer query; move an inner join's "
                    "condition on outer columns there.");
}

// The subquery of a conjunct that becomes a semi- or anti-join: that of
// EXISTS (...) or NOT EXISTS (...), or of the EXISTS form of IN / ANY /
// ALL (subquery), also under NOT (quantified_sublinks.hpp); null for any
// other conjunct. *anti tells which join, *what names the construct.
Query* SemiJoinSubquery(Node* conjunct, bool* anti, std::string* what) {
    bool negated = false;
    if (IsA(conjunct, BoolExpr) && castNode(BoolExpr, conjunct)->boolop == NOT_EXPR) {
        negated = true;
        conjunct = static_cast<Node*>(linitial(castNode(BoolExpr, conjunct)->args));
    }
    if (!IsA(conjunct, SubLink)) return nullptr;
    SubLink* link = castNode(SubLink, conjunct);
    if (link->subLinkType == EXISTS_SUBLINK) {
        *anti = negated;
        *what = negated ? "a NOT EXISTS subquery" : "an EXISTS subquery";
        return PgCall([&] { return static_cast<Query*>(copyObjectImpl(link->subselect)); });
    }
    if (link->subLinkType != ANY_SUBLINK && link->subLinkType != ALL_SUBLINK) return nullptr;
    *what = QuantifiedSublinkName(link->subLinkType, negated);
    return ExistsFormOfQuantifiedSublink(link, negated, anti);
}

// Turns the EXISTS / NOT EXISTS conjuncts of q's WHERE clause, and the IN /
// ANY / ALL (subquery) ones written as such, into semi- / anti-joins of q's
// FROM clause with the subqueries' FROM clauses.
void PullUpSublinks(Query* q) {
    if (!q->hasSubLinks || q->jointree == nullptr || q->jointree->quals == nullptr) return;
    List* conjuncts = NIL;
    CollectConjuncts(q->jointree->quals, &conjuncts);
    List* kept = NIL;
    Node* from = PgCall([&] { return reinterpret_cast<Node*>(makeFromExpr(q->jointree->fromlist, nullptr)); });
    bool pulled = false;
    ListCell* lc;
    foreach (lc, conjuncts) {
        Node* conjunct = static_cast<Node*>(lfirst(lc));
        bool anti = false;
        std::string what;
        Query* sub = SemiJoinSubquery(conjunct, &anti, &what);
        if (sub == nullptr) {
            kept = PgCall([&] { return lappend(kept, conjunct); });
            continue;
        }
        Flatten(sub);
        CheckSimpleSubquery(sub, what, false);
        CheckCorrelationInWhereOnly(sub, what);
        AppendRangeTable(q, sub);
        PgCall([&] { IncrementVarSublevelsUp(reinterpret_cast<Node*>(sub), -1, 1); });
        JoinExpr* join = PgCall([] { return makeNode(JoinExpr); });
        join->jointype = anti ? JOIN_ANTI : JOIN_SEMI;
        join->larg = from;
        join->quals = sub->jointree->quals;
        sub->jointree->quals = nullptr;
        join->rarg = reinterpret_cast<Node*>(sub->jointree);
        join->rtindex = 0;
        from = reinterpret_cast<Node*>(join);
        pulled = true;
    }
    if (!pulled) return;
    PgCall([&] {
        Node* quals = kept == NIL ? nullptr : reinterpret_cast<Node*>(make_ands_explicit(kept));
        q->jointree = makeFromExpr(list_make1(from), quals);
    });
}

// A select-list expression of a subquery on the nullable side of an outer
// join must be NULL whenever the subquery's relations are padded with NULLs.
void CheckNullableSubqueryOutput(Query* sub) {
    ListCell* lc;
    foreach (lc, sub->targetList) {
        auto* tle = lfirst_node(TargetEntry, lc);
        Node* expr = reinterpret_cast<Node*>(tle->expr);
        if (IsA(expr, Var)) continue;
        const bool goes_null =
            PgCall([&] { return contain_vars_of_level(expr, 0) && !contain_nonstrict_functions(expr); });
        if (!goes_null)
            Unsupported(
                "a subquery in FROM on the nullable side of an outer join with a select-list "
                "expression that is not NULL for NULL input",
                "Move the expression to the outer query's select list.");
    }
}

struct PulledUp {
    Index rtindex;
    List* target_list;
};

// Replaces every subquery in the join tree node by its own join tree (its
// range table appended to q's); records what was pulled up.
Node* PullUpSubqueries(Query* q, Node* node, bool nullable, std::vector<PulledUp>& pulled) {
    if (IsA(node, RangeTblRef)) {
        const Index rtindex = castNode(RangeTblRef, node)->rtindex;
        RangeTblEntry* rte = static_cast<RangeTblEntry*>(list_nth(q->rtable, int(rtindex) - 1));
        if (rte->rtekind != RTE_SUBQUERY) return node;
        if (rte->lateral) Unsupported("a LATERAL subquery");
        // A set operation stays a FROM item of its own (the view reads the
        // union of its operands: DescribeView).
        if (rte->subquery->setOperations != nullptr) return node;
        Query* sub = PgCall([&] { return static_cast<Query*>(copyObjectImpl(rte->subquery)); });
        Flatten(sub);
        CheckSimpleSubquery(sub, "a subquery in FROM", true);
        if (nullable) CheckNullableSubqueryOutput(sub);
        // Columns of queries further out (sub is not LATERAL) come one level
        // closer; PullUpSublinks rejects them where maintenance cannot follow.
        PgCall([&] { IncrementVarSublevelsUp(reinterpret_cast<Node*>(sub), -1, 1); });
        AppendRangeTable(q, sub);
        pulled.push_back({rtindex, sub->targetList});
        return reinterpret_cast<Node*>(sub->jointree);
    }
    if (IsA(node, JoinExpr)) {
        auto* join = castNode(JoinExpr, node);
        const JoinType t = join->jointype;
        join->larg = PullUpSubqueries(q, join->larg, nullable || t == JOIN_RIGHT || t == JOIN_FULL, pulled);
        join->rarg = PullUpSubqueries(
            q, join->rarg, t == JOIN_SEMI || t == JOIN_ANTI ? false : nullable || t == JOIN_LEFT || t == JOIN_FULL,
            pulled);
        return node;
    }
    if (IsA(node, FromExpr)) {
        ListCell* lc;
        foreach (lc, castNode(FromExpr, node)->fromlist)
            lfirst(lc) = PullUpSubqueries(q, static_cast<Node*>(lfirst(lc)), nullable, pulled);
    }
    return node;
}

// Replaces q's references to pulled-up subqueries by their select lists and
// leaves their range-table entries unreferenced (RTE_RESULT).
Query* SubstituteSubqueryOutputs(Query* q, const std::vector<PulledUp>& pulled) {
    for (const auto& p : pulled) {
        q = PgCall([&] {
            RangeTblEntry* rte = rt_fetch(p.rtindex, q->rtable);
            return reinterpret_cast<Query*>(ReplaceVarsFromTargetList(reinterpret_cast<Node*>(q), int(p.rtindex), 0,
                                                                      rte, p.target_list, REPLACEVARS_REPORT_ERROR, 0,
                                                                      nullptr));
        });
        RangeTblEntry* rte = rt_fetch(p.rtindex, q->rtable);
        rte->rtekind = RTE_RESULT;
        rte->subquery = nullptr;
    }
    return q;
}

void Flatten(Query* q) {
    InlineCtes(q);
    PullUpSublinks(q);
    if (q->jointree == nullptr) return;
    std::vector<PulledUp> pulled;
    PullUpSubqueries(q, reinterpret_cast<Node*>(q->jointree), false, pulled);
    Query* substituted = SubstituteSubqueryOutputs(q, pulled);
    if (substituted != q) *q = *substituted;
    q->hasSubLinks = PgCall([&] {
        return checkExprHasSubLink(reinterpret_cast<Node*>(q->targetList)) ||
               checkExprHasSubLink(reinterpret_cast<Node*>(q->jointree)) || checkExprHasSubLink(q->havingQual);
    });
}

}  // namespace

Query* FlattenViewQuery(Query* query) {
    Query* q = PgCall([&] { return static_cast<Query*>(copyObjectImpl(query)); });
    Flatten(q);
    return q;
}

}  // namespace ivmx::pg
