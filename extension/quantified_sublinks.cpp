// Rewrite of IN / ANY / ALL (subquery) conditions into EXISTS form
// (see extension/quantified_sublinks.hpp).
#include "quantified_sublinks.hpp"

#include "analyze_checks.hpp"
#include "ivmx/pg/guards.hpp"

namespace ivmx::pg {

namespace {

// How a quantified condition reads as [NOT] EXISTS: which of the two, and
// the boolean test (if any) that a subquery row's comparison must pass.
struct ExistsForm {
    bool anti;
    bool tested;  // false: the comparison itself is the condition
    BoolTestType test;
};

ExistsForm FormOf(SubLinkType type, bool negated) {
    if (type == ANY_SUBLINK) return negated ? ExistsForm{true, true, IS_NOT_FALSE} : ExistsForm{false, false, IS_TRUE};
    return negated ? ExistsForm{false, true, IS_FALSE} : ExistsForm{true, true, IS_NOT_TRUE};
}

// Replaces the PARAM_SUBLINK parameters of a sublink's comparison, which
// stand for the subquery's output columns (paramid = resno), by copies of
// those columns' expressions (context: the subquery's target list). A
// PostgreSQL mutator callback: never throws.
Node* ReplaceOutputParams(Node* node, void* context) {
    if (node == nullptr) return nullptr;
    if (IsA(node, Param) && castNode(Param, node)->paramkind == PARAM_SUBLINK) {
        const int resno = castNode(Param, node)->paramid;
        TargetEntry* tle = get_tle_by_resno(static_cast<List*>(context), AttrNumber(resno));
        if (tle == nullptr || tle->resjunk) elog(ERROR, "pg_ivmx found no subquery output column %d", resno);
        return static_cast<Node*>(copyObjectImpl(tle->expr));
    }
    return expression_tree_mutator(node, reinterpret_cast<Node* (*)()>(reinterpret_cast<void*>(ReplaceOutputParams)),
                                   context);
}

// The condition on one row of sub that the EXISTS form tests: the
// comparison of link moved into sub (outer columns one level up, the
// parameters replaced by sub's output), under the form's boolean test.
// PostgreSQL data only (runs inside PgCall).
Node* RowCondition(SubLink* link, Query* sub, const ExistsForm& form) {
    Node* comparison = static_cast<Node*>(copyObjectImpl(link->testexpr));
    IncrementVarSublevelsUp(comparison, 1, 0);
    comparison = ReplaceOutputParams(comparison, sub->targetList);
    if (!form.tested) return comparison;
    BooleanTest* test = makeNode(BooleanTest);
    test->arg = reinterpret_cast<Expr*>(comparison);
    test->booltesttype = form.test;
    test->location = -1;
    return reinterpret_cast<Node*>(test);
}

}  // namespace

std::string QuantifiedSublinkName(SubLinkType type, bool negated) {
    if (type == ANY_SUBLINK) return negated ? "a NOT IN / NOT ANY subquery" : "an IN / ANY subquery";
    return negated ? "a NOT ALL subquery" : "an ALL subquery";
}

Query* ExistsFormOfQuantifiedSublink(SubLink* link, bool negated, bool* anti) {
    const std::string what = QuantifiedSublinkName(link->subLinkType, negated);
    if (PgCall([&] { return checkExprHasSubLink(link->testexpr); }))
        Unsupported(what + " with a subquery in its left operand");
    Query* sub = PgCall([&] { return static_cast<Query*>(copyObjectImpl(link->subselect)); });
    // DISTINCT ON picks which rows the subquery returns; plain DISTINCT does
    // not change whether a value is among them.
    if (sub->hasDistinctOn) Unsupported(what + " with DISTINCT ON");
    const ExistsForm form = FormOf(link->subLinkType, negated);
    PgCall([&] {
        Node* condition = RowCondition(link, sub, form);
        Node* quals = sub->jointree->quals;
        sub->jointree->quals =
            quals == nullptr ? condition : reinterpret_cast<Node*>(make_andclause(list_make2(quals, condition)));
    });
    *anti = form.anti;
    return sub;
}

}  // namespace ivmx::pg
