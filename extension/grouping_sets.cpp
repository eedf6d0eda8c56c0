// GROUPING SETS, ROLLUP and CUBE in an IMMV's defining query (see
// extension/grouping_sets.hpp).
#include "grouping_sets.hpp"

#include <string>

#include "analyze_checks.hpp"
#include "ivmx/core/error.hpp"
#include "ivmx/pg/guards.hpp"

namespace ivmx::pg {

namespace {

// The alias and column name of the FROM item numbering the grouping sets.
constexpr const char* kSetsAlias = "grouping_sets";
constexpr const char* kSetColumn = "set_number";

// The helpers below build PostgreSQL nodes: plain data, run inside PgCall.

Const* IntConst(int value) {
    return makeConst(INT4OID, -1, InvalidOid, sizeof(int32), Int32GetDatum(value), false, true);
}

// Whether grouping set `set` (an integer list of sortgroup references)
// groups by reference `ref`.
bool SetGroupsBy(List* set, Index ref) {
    return list_member_int(set, int(ref));
}

// The condition that the set number is one of `numbers`.
Expr* SetNumberIn(Var* set_number, List* numbers) {
    List* tests = NIL;
    ListCell* lc;
    foreach (lc, numbers)
        tests = lappend(tests,
                        make_opclause(Int4EqualOperator, BOOLOID, false, static_cast<Expr*>(copyObjectImpl(set_number)),
                                      reinterpret_cast<Expr*>(IntConst(lfirst_int(lc))), InvalidOid, InvalidOid));
    return list_length(tests) == 1 ? static_cast<Expr*>(linitial(tests)) : make_orclause(tests);
}

// CASE WHEN <set number in numbers> THEN result ELSE otherwise END.
Expr* CaseOfSets(Var* set_number, List* numbers, Expr* result, Expr* otherwise) {
    CaseWhen* when = makeNode(CaseWhen);
    when->expr = SetNumberIn(set_number, numbers);
    when->result = result;
    when->location = -1;
    CaseExpr* expr = makeNode(CaseExpr);
    expr->casetype = exprType(reinterpret_cast<Node*>(result));
    expr->casecollid = exprCollation(reinterpret_cast<Node*>(result));
    expr->args = list_make1(when);
    expr->defresult = otherwise;
    expr->location = -1;
    return reinterpret_cast<Expr*>(expr);
}

// Walks the expressions of the rewritten query. Plain data.
struct KeyRewriteContext {
    List* keys = NIL;          // the GROUP BY expressions that some set omits
    List* replacements = NIL;  // their CASE over the set number, in the same order
    List* sets = NIL;
    Var* set_number = nullptr;
};

// GROUPING(a, b, ...) as a CASE over the set number: bit i (counting from
// the last argument, the least significant) is set in the sets that do not
// group by argument i.
Node* GroupingBits(GroupingFunc* grouping, const KeyRewriteContext& ctx) {
    List* values = NIL;  // per set, its bits
    ListCell* lc;
    foreach (lc, ctx.sets) {
        int bits = 0;
        ListCell* rc;
        foreach (rc, grouping->refs)
            bits = (bits << 1) | (SetGroupsBy(static_cast<List*>(lfirst(lc)), lfirst_int(rc)) ? 0 : 1);
        values = lappend_int(values, bits);
    }
    // One WHEN per value but the last set's, which is the ELSE.
    const int last = llast_int(values);
    Expr* result = reinterpret_cast<Expr*>(IntConst(last));
    List* done = list_make1_int(last);
    for (int i = 0; i < list_length(values); ++i) {
        const int value = list_nth_int(values, i);
        if (list_member_int(done, value)) continue;
        done = lappend_int(done, value);
        List* numbers = NIL;
        for (int j = 0; j < list_length(values); ++j)
            if (list_nth_int(values, j) == value) numbers = lappend_int(numbers, j);
        result = CaseOfSets(ctx.set_number, numbers, reinterpret_cast<Expr*>(IntConst(value)), result);
    }
    return reinterpret_cast<Node*>(result);
}

// Replaces, outside aggregate calls, each GROUP BY expression that some set
// omits by its CASE, and GROUPING() by its bits. A PostgreSQL mutator
// callback: never throws.
Node* RewriteKeyReferences(Node* node, void* context) {
    if (node == nullptr) return nullptr;
    auto* ctx = static_cast<KeyRewriteContext*>(context);
    ListCell *lk, *lr;
    forboth(lk, ctx->keys, lr,
            ctx->replacements) if (equal(node, lfirst(lk))) return static_cast<Node*>(copyObjectImpl(lfirst(lr)));
    if (IsA(node, Aggref)) return node;  // its arguments are read per input row
    if (IsA(node, GroupingFunc)) return GroupingBits(castNode(GroupingFunc, node), *ctx);
    return expression_tree_mutator(node, reinterpret_cast<Node* (*)()>(reinterpret_cast<void*>(RewriteKeyReferences)),
                                   context);
}

// The FROM item numbering `count` grouping sets.
RangeTblEntry* SetNumbers(int count) {
    FuncExpr* call = makeFuncExpr(F_GENERATE_SERIES_INT4_INT4, INT4OID, list_make2(IntConst(0), IntConst(count - 1)),
                                  InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
    call->funcretset = true;
    RangeTblFunction* function = makeNode(RangeTblFunction);
    function->funcexpr = reinterpret_cast<Node*>(call);
    function->funccolcount = 1;
    RangeTblEntry* rte = makeNode(RangeTblEntry);
    rte->rtekind = RTE_FUNCTION;
    rte->functions = list_make1(function);
    rte->alias = makeAlias(kSetsAlias, list_make1(makeString(pstrdup(kSetColumn))));
    rte->eref = static_cast<Alias*>(copyObjectImpl(rte->alias));
    rte->inFromCl = true;
    return rte;
}

// The rewrite itself, on a copy of q. Returns nullptr (and sets *count)
// when q has more than kMaxGroupingSets sets.
Query* Rewrite(Query* original, GroupingSetsRewrite& rewrite, int* count) {
    Query* q = static_cast<Query*>(copyObjectImpl(original));
    List* sets = expand_grouping_sets(q->groupingSets, q->groupDistinct, -1);
    *count = list_length(sets);
    if (*count > kMaxGroupingSets) return nullptr;
    // The FROM item of the set numbers, one more inner-joined item.
    q->rtable = lappend(q->rtable, SetNumbers(*count));
    const Index rtindex = Index(list_length(q->rtable));
    RangeTblRef* ref = makeNode(RangeTblRef);
    ref->rtindex = int(rtindex);
    q->jointree->fromlist = lappend(q->jointree->fromlist, ref);
    Var* set_number = makeVar(int(rtindex), 1, INT4OID, -1, InvalidOid, 0);

    KeyRewriteContext ctx;
    ctx.sets = sets;
    ctx.set_number = set_number;
    ListCell* lc;
    foreach (lc, q->groupClause) {
        SortGroupClause* clause = lfirst_node(SortGroupClause, lc);
        List* numbers = NIL;
        for (int i = 0; i < list_length(sets); ++i)
            if (SetGroupsBy(static_cast<List*>(list_nth(sets, i)), clause->tleSortGroupRef))
                numbers = lappend_int(numbers, i);
        if (list_length(numbers) == list_length(sets)) continue;  // a key of every set
        Node* key = static_cast<Node*>(copyObjectImpl(get_sortgroupclause_expr(clause, q->targetList)));
        ctx.keys = lappend(ctx.keys, key);
        Expr* otherwise = reinterpret_cast<Expr*>(makeNullConst(exprType(key), exprTypmod(key), exprCollation(key)));
        // (A key in no set at all is NULL throughout: an empty list of numbers.)
        Expr* wrapped = numbers == NIL
                            ? otherwise
                            : CaseOfSets(set_number, numbers, static_cast<Expr*>(copyObjectImpl(key)), otherwise);
        ctx.replacements = lappend(ctx.replacements, wrapped);
    }
    Index max_ref = 0;
    foreach (lc, q->targetList) {
        TargetEntry* tle = lfirst_node(TargetEntry, lc);
        tle->expr = reinterpret_cast<Expr*>(RewriteKeyReferences(reinterpret_cast<Node*>(tle->expr), &ctx));
        if (tle->ressortgroupref > max_ref) max_ref = tle->ressortgroupref;
    }
    q->havingQual = RewriteKeyReferences(q->havingQual, &ctx);

    // The set number: one more key, not in the select list.
    TargetEntry* tle = makeTargetEntry(static_cast<Expr*>(copyObjectImpl(set_number)),
                                       AttrNumber(list_length(q->targetList) + 1), pstrdup(kSetColumn), true);
    tle->ressortgroupref = max_ref + 1;
    q->targetList = lappend(q->targetList, tle);
    SortGroupClause* clause = makeNode(SortGroupClause);
    clause->tleSortGroupRef = tle->ressortgroupref;
    get_sort_group_operators(INT4OID, true, true, false, &clause->sortop, &clause->eqop, nullptr, &clause->hashable);
    q->groupClause = lappend(q->groupClause, clause);
    q->groupingSets = NIL;
    q->groupDistinct = false;

    rewrite.sets = sets;
    rewrite.wrapped = ctx.replacements;
    rewrite.set_number = set_number;
    return q;
}

// The value of a key expression in the group of empty grouping set
// `number`: every wrapped key is NULL there. Plain data.
struct KeptValueContext {
    List* wrapped = NIL;
    Var* set_number = nullptr;
    int number = 0;
};

// A PostgreSQL mutator callback: never throws.
Node* KeptValue(Node* node, void* context) {
    if (node == nullptr) return nullptr;
    auto* ctx = static_cast<KeptValueContext*>(context);
    ListCell* lc;
    foreach (lc, ctx->wrapped)
        if (equal(node, lfirst(lc)))
            return reinterpret_cast<Node*>(makeNullConst(exprType(node), exprTypmod(node), exprCollation(node)));
    if (equal(node, ctx->set_number)) return reinterpret_cast<Node*>(IntConst(ctx->number));
    return expression_tree_mutator(node, reinterpret_cast<Node* (*)()>(reinterpret_cast<void*>(KeptValue)), context);
}

}  // namespace

Query* RewriteGroupingSets(Query* q, GroupingSetsRewrite& rewrite) {
    int count = 0;
    Query* rewritten = PgCall([&] { return Rewrite(q, rewrite, &count); });
    if (rewritten == nullptr)
        throw core::Error(core::sqlstate::kProgramLimitExceeded,
                          "GROUPING SETS, ROLLUP and CUBE with " + std::to_string(count) +
                              " grouping sets are not supported on incrementally maintainable materialized views",
                          "At most " + std::to_string(kMaxGroupingSets) + " grouping sets are supported.",
                          "Every change is read once per grouping set: split the view into IMMVs of fewer sets.");
    return rewritten;
}

void DescribeGroupingSets(Query* q, const GroupingSetsRewrite& rewrite, const RelationScope& deparse,
                          core::ViewDefinition& view) {
    const std::string set_sql = deparse(reinterpret_cast<Node*>(rewrite.set_number));
    for (auto& c : view.columns)
        if (c.hidden && c.role == core::ColumnRole::GroupKey && c.expression_sql == set_sql) {
            c.name = core::GroupingSetColumn();
            c.not_null = true;
            break;
        }
    // The expressions key columns may have: select-list entries, wrapped keys
    // and the set number.
    std::vector<std::pair<std::string, Node*>> candidates;
    ListCell* lc;
    foreach (lc, q->targetList) {
        Node* expr = reinterpret_cast<Node*>(lfirst_node(TargetEntry, lc)->expr);
        if (!PgCall([&] { return contain_agg_clause(expr); })) candidates.push_back({deparse(expr), expr});
    }
    foreach (lc, rewrite.wrapped)
        candidates.push_back({deparse(static_cast<Node*>(lfirst(lc))), static_cast<Node*>(lfirst(lc))});
    for (int number = 0; number < list_length(rewrite.sets); ++number) {
        if (list_nth(rewrite.sets, number) != NIL) continue;
        core::EmptyGroupingSet empty;
        empty.set = size_t(number);
        for (const auto& c : view.columns) {
            std::string value;
            if (core::IsKeyColumn(c)) {
                Node* expr = nullptr;
                for (const auto& [sql, node] : candidates)
                    if (sql == c.expression_sql) expr = node;
                if (expr == nullptr) Unsupported("this expression of the group keys with an empty grouping set");
                KeptValueContext ctx{rewrite.wrapped, rewrite.set_number, number};
                value = deparse(PgCall([&] { return KeptValue(expr, &ctx); }));
            }
            empty.key_values.push_back(std::move(value));
        }
        view.empty_grouping_sets.push_back(std::move(empty));
    }
}

}  // namespace ivmx::pg
