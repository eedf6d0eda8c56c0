// The FROM items of an IMMV's defining query (see extension/relation_scope.hpp).
#include "relation_scope.hpp"

#include <algorithm>

#include "ivmx/core/error.hpp"
#include "ivmx/core/set_operation.hpp"
#include "ivmx/pg/guards.hpp"

namespace ivmx::pg {

namespace {

// A PostgreSQL mutator callback (see RenumberContext): never throws.
Node* RenumberVars(Node* node, void* context) {
    if (node == nullptr) return nullptr;
    if (IsA(node, Var)) {
        Var* var = static_cast<Var*>(copyObjectImpl(node));
        auto* ctx = static_cast<RenumberContext*>(context);
        if (var->varlevelsup == 0 && var->varno > 0 && size_t(var->varno) < ctx->occurrence_of_rtindex.size())
            var->varno = ctx->occurrence_of_rtindex[var->varno];
        var->varnosyn = var->varno;
        var->varattnosyn = var->varattno;
        return reinterpret_cast<Node*>(var);
    }
    return expression_tree_mutator(node, reinterpret_cast<Node* (*)()>(reinterpret_cast<void*>(RenumberVars)), context);
}

}  // namespace

RelationScope::RelationScope(Query* q) : query_(q) {
    context_.occurrence_of_rtindex.assign(list_length(q->rtable) + 1, 0);
    // Relation occurrences first, then constant relations: the IR numbers
    // each kind on its own, and so does the deparse range table.
    for (RTEKind kind : {RTE_RELATION, RTE_FUNCTION})
        for (int i = 0; i < list_length(q->rtable); ++i) {
            auto* rte = static_cast<RangeTblEntry*>(list_nth(q->rtable, i));
            if (rte->rtekind == kind) AddItem(rte, Index(i + 1));
        }
    // A set operation in FROM (left there by FlattenViewQuery), last: its
    // columns read as __ivm_set.__ivm_col_<n>.
    for (int i = 0; i < list_length(q->rtable); ++i) {
        auto* rte = static_cast<RangeTblEntry*>(list_nth(q->rtable, i));
        if (rte->rtekind != RTE_SUBQUERY || rte->subquery == nullptr || rte->subquery->setOperations == nullptr)
            continue;
        unions_.push_back(PgCall([&] {
            RangeTblEntry* copy = static_cast<RangeTblEntry*>(copyObjectImpl(rte));
            List* names = NIL;
            for (int n = 1; n <= list_length(copy->eref->colnames); ++n)
                names = lappend(names, makeString(psprintf("__ivm_col_%d", n)));
            copy->eref = makeAlias(core::kSetAlias, names);
            copy->alias = nullptr;
            return copy;
        }));
        union_queries_.push_back(rte->subquery);
        aliases_.push_back(core::kSetAlias);
        context_.occurrence_of_rtindex[i + 1] = int(aliases_.size());
    }
    deparse_context_ = PgCall([&] {
        List* rtable = NIL;
        List* names = NIL;
        const size_t constants_end = relations_.size() + constants_.size();
        for (size_t i = 0; i < aliases_.size(); ++i) {
            rtable = lappend(rtable, i < relations_.size() ? relations_[i]
                                     : i < constants_end   ? constants_[i - relations_.size()]
                                                           : unions_[i - constants_end]);
            names = lappend(names, pstrdup(aliases_[i].c_str()));
        }
        PlannedStmt* stmt = makeNode(PlannedStmt);
        stmt->rtable = rtable;
        return deparse_context_for_plan_tree(stmt, names);
    });
}

void RelationScope::AddItem(RangeTblEntry* rte, Index rtindex) {
    aliases_.push_back(UniqueAlias(rte->eref->aliasname));
    context_.occurrence_of_rtindex[rtindex] = int(aliases_.size());
    if (rte->rtekind == RTE_FUNCTION) {
        constants_.push_back(WithUniqueColumnNames(rte));
        return;
    }
    relids_.push_back(rte->relid);
    columns_read_.push_back(ColumnsRead(rte));
    relations_.push_back(rte);
}

Node* RelationScope::Normalize(Node* expr) const {
    return PgCall([&] {
        Node* flat = flatten_join_alias_vars(query_, expr);
        return RenumberVars(flat, const_cast<RenumberContext*>(&context_));
    });
}

std::string RelationScope::operator()(Node* expr) const {
    Node* normalized = Normalize(expr);
    return PgCall([&] { return deparse_expression(normalized, deparse_context_, true, false); });
}

RelationScope::Item RelationScope::ItemOf(Index rtindex) const {
    if (rtindex >= context_.occurrence_of_rtindex.size() || context_.occurrence_of_rtindex[rtindex] == 0)
        throw core::Error(core::sqlstate::kInternalError,
                          "join tree refers to a range-table entry that is neither a relation nor a function");
    const size_t position = size_t(context_.occurrence_of_rtindex[rtindex] - 1);
    if (position < relids_.size()) return {false, position};
    if (position >= relids_.size() + constants_.size())
        throw core::NotSupported(
            "UNION/INTERSECT/EXCEPT in a subquery in FROM joined to other FROM items is not supported on "
            "incrementally maintainable materialized views",
            {}, "Create the set operation as an IMMV of its own, and join that IMMV.");
    return {true, position - relids_.size()};
}

size_t RelationScope::OccurrenceOf(Index rtindex) const {
    const Item item = ItemOf(rtindex);
    if (item.constant)
        throw core::Error(core::sqlstate::kInternalError,
                          "join tree refers to a range-table entry that is not a relation");
    return item.index;
}

// The user columns the query reads of a relation (the parser marks each
// column it meets, in any clause); empty for all of them: a whole-row
// reference, or no marks at all.
std::vector<std::string> RelationScope::ColumnsRead(RangeTblEntry* rte) {
    List* marked = PgCall([&] { return MarkedColumnNames(rte); });
    std::vector<std::string> names;
    ListCell* lc;
    foreach (lc, marked) names.push_back(static_cast<const char*>(lfirst(lc)));
    list_free_deep(marked);
    return names;
}

// The names (palloc'd) of the user columns marked in rte->selectedCols;
// NIL for a whole-row reference. PostgreSQL data only: runs inside
// PgCall (get_attname raises an error for a column that is gone).
List* RelationScope::MarkedColumnNames(RangeTblEntry* rte) {
    List* names = NIL;
    int member = -1;
    while ((member = bms_next_member(rte->selectedCols, member)) >= 0) {
        const AttrNumber attno = member + FirstLowInvalidHeapAttributeNumber;
        if (attno == InvalidAttrNumber) {
            list_free_deep(names);
            return NIL;
        }
        if (attno > 0) names = lappend(names, get_attname(rte->relid, attno, false));
    }
    return names;
}

// A copy of a function's range-table entry whose column names (eref, which
// the deparser and the FROM item's column alias list both use) are unique:
// a repeated name gets a suffix _2, _3, ... An empty name (a column of a
// composite result type dropped since the query was parsed) is kept.
RangeTblEntry* RelationScope::WithUniqueColumnNames(RangeTblEntry* rte) {
    return PgCall([&] {
        RangeTblEntry* copy = static_cast<RangeTblEntry*>(copyObjectImpl(rte));
        List* names = NIL;
        ListCell* lc;
        foreach (lc, copy->eref->colnames) {
            const char* wanted = strVal(lfirst(lc));
            char* name = pstrdup(wanted);
            for (int n = 2; name[0] != '\0'; ++n) {
                bool taken = false;
                ListCell* other;
                foreach (other, names) taken |= strcmp(strVal(lfirst(other)), name) == 0;
                if (!taken) break;
                name = psprintf("%s_%d", wanted, n);
            }
            names = lappend(names, makeString(name));
        }
        copy->eref = makeAlias(copy->eref->aliasname, names);
        return copy;
    });
}

std::string RelationScope::UniqueAlias(const std::string& wanted) const {
    std::string alias = wanted.rfind("__ivm", 0) == 0 ? "r" : wanted;
    for (int n = 2; std::find(aliases_.begin(), aliases_.end(), alias) != aliases_.end(); ++n)
        alias = wanted + "_" + std::to_string(n);
    return alias;
}

std::string RelationScope::QuotedAlias(size_t position) const {
    return PgCall([&] { return quote_identifier(aliases_[position].c_str()); });
}

}  // namespace ivmx::pg
