// The analysed definitions of IMMVs, kept per backend (see
// extension/analysed_views.hpp).
#include "analysed_views.hpp"

#include "companions.hpp"

#include <algorithm>
#include <unordered_map>

#include "analyze.hpp"
#include "ivmx/pg/guards.hpp"
#include "maintainer.hpp"
#include "pg_util.hpp"

namespace ivmx::pg {

bool AnalysedView::Reads(Oid relid) const {
    return std::find(relations.begin(), relations.end(), relid) != relations.end();
}

bool AnalysedView::Names(int cache_id, uint32 hash_value) const {
    return std::find(named_objects.begin(), named_objects.end(), std::make_pair(cache_id, hash_value)) !=
           named_objects.end();
}

namespace {

// Keyed by IMMV OID. An entry is replaced when it is analysed again; stale
// entries are dropped when another IMMV is analysed (those of dropped IMMVs
// included). Holders of an analysis keep it alive (shared_ptr).
std::unordered_map<Oid, std::shared_ptr<AnalysedView>>& Analyses() {
    static std::unordered_map<Oid, std::shared_ptr<AnalysedView>> analyses;
    return analyses;
}

// What a walk of a query found, in palloc'd lists.
struct QueryObjects {
    List* relations;
    List* functions;
    List* operators;
    List* types;
    List* collations;
};

void AddOid(List** list, Oid oid) {
    if (OidIsValid(oid)) *list = list_append_unique_oid(*list, oid);
}

bool CollectQueryObjects(Node* node, void* context);

bool WalkQueryObjects(Node* node, QueryObjects* found) {
    return expression_tree_walker(node, reinterpret_cast<bool (*)()>(reinterpret_cast<void*>(CollectQueryObjects)),
                                  found);
}

// Records the relations a query reads and the functions, operators, types
// and collations its expressions use, in every subquery, sublink and CTE.
// PostgreSQL data only: runs inside PgCall.
bool CollectQueryObjects(Node* node, void* context) {
    if (node == nullptr) return false;
    auto* found = static_cast<QueryObjects*>(context);
    if (IsA(node, Query))
        return query_tree_walker(castNode(Query, node),
                                 reinterpret_cast<bool (*)()>(reinterpret_cast<void*>(CollectQueryObjects)), context,
                                 QTW_EXAMINE_RTES_BEFORE);
    switch (nodeTag(node)) {
        case T_RangeTblEntry: {
            // Its contents (a subquery, functions, VALUES) are walked next.
            auto* rte = castNode(RangeTblEntry, node);
            if (rte->rtekind == RTE_RELATION) AddOid(&found->relations, rte->relid);
            return false;
        }
        case T_Var:
            AddOid(&found->types, castNode(Var, node)->vartype);
            break;
        case T_Const:
            AddOid(&found->types, castNode(Const, node)->consttype);
            break;
        case T_Aggref:
            AddOid(&found->functions, castNode(Aggref, node)->aggfnoid);
            AddOid(&found->types, castNode(Aggref, node)->aggtype);
            break;
        case T_WindowFunc:
            AddOid(&found->functions, castNode(WindowFunc, node)->winfnoid);
            AddOid(&found->types, castNode(WindowFunc, node)->wintype);
            break;
        case T_FuncExpr:
            AddOid(&found->functions, castNode(FuncExpr, node)->funcid);
            AddOid(&found->types, castNode(FuncExpr, node)->funcresulttype);
            break;
        case T_OpExpr:
        case T_DistinctExpr:
        case T_NullIfExpr:
            AddOid(&found->operators, reinterpret_cast<OpExpr*>(node)->opno);
            AddOid(&found->types, reinterpret_cast<OpExpr*>(node)->opresulttype);
            break;
        case T_ScalarArrayOpExpr:
            AddOid(&found->operators, castNode(ScalarArrayOpExpr, node)->opno);
            break;
        case T_RowCompareExpr: {
            ListCell* lc;
            foreach (lc, castNode(RowCompareExpr, node)->opnos) AddOid(&found->operators, lfirst_oid(lc));
            break;
        }
        case T_RelabelType:
            AddOid(&found->types, castNode(RelabelType, node)->resulttype);
            break;
        case T_CoerceViaIO:
            AddOid(&found->types, castNode(CoerceViaIO, node)->resulttype);
            break;
        case T_ArrayCoerceExpr:
            AddOid(&found->types, castNode(ArrayCoerceExpr, node)->resulttype);
            break;
        case T_ConvertRowtypeExpr:
            AddOid(&found->types, castNode(ConvertRowtypeExpr, node)->resulttype);
            break;
        case T_CoerceToDomain:
            AddOid(&found->types, castNode(CoerceToDomain, node)->resulttype);
            break;
        case T_CollateExpr:
            AddOid(&found->collations, castNode(CollateExpr, node)->collOid);
            break;
        case T_CaseExpr:
            AddOid(&found->types, castNode(CaseExpr, node)->casetype);
            break;
        case T_CoalesceExpr:
            AddOid(&found->types, castNode(CoalesceExpr, node)->coalescetype);
            break;
        case T_MinMaxExpr:
            AddOid(&found->types, castNode(MinMaxExpr, node)->minmaxtype);
            break;
        case T_RowExpr:
            AddOid(&found->types, castNode(RowExpr, node)->row_typeid);
            break;
        case T_ArrayExpr:
            AddOid(&found->types, castNode(ArrayExpr, node)->array_typeid);
            break;
        default:
            break;
    }
    return WalkQueryObjects(node, found);
}

// What an analysis of query reads, in palloc'd arrays: the relations, and
// the syscache entries (cache id, hash value) of the objects it names.
struct QueryDependencies {
    Oid* relations;
    int relation_count;
    int* cache_ids;
    uint32* hash_values;
    int object_count;
};

QueryDependencies DependenciesOf(Query* query) {
    return PgCall([&] {
        QueryObjects found{NIL, NIL, NIL, NIL, NIL};
        CollectQueryObjects(reinterpret_cast<Node*>(query), &found);
        QueryDependencies out{};
        out.relations = static_cast<Oid*>(palloc(sizeof(Oid) * Max(list_length(found.relations), 1)));
        ListCell* lc;
        foreach (lc, found.relations) out.relations[out.relation_count++] = lfirst_oid(lc);
        const std::pair<int, List*> named[] = {{PROCOID, found.functions},
                                               {OPEROID, found.operators},
                                               {TYPEOID, found.types},
                                               {COLLOID, found.collations}};
        int total = 0;
        for (const auto& [cache_id, oids] : named) total += list_length(oids);
        out.cache_ids = static_cast<int*>(palloc(sizeof(int) * Max(total, 1)));
        out.hash_values = static_cast<uint32*>(palloc(sizeof(uint32) * Max(total, 1)));
        for (const auto& [cache_id, oids] : named) {
            foreach (lc, oids) {
                out.cache_ids[out.object_count] = cache_id;
                out.hash_values[out.object_count++] = GetSysCacheHashValue1(cache_id, ObjectIdGetDatum(lfirst_oid(lc)));
            }
        }
        return out;
    });
}

// Records in `analysis` what an analysis of query reads (with the IMMV).
void RecordDependencies(Query* query, Oid immv, AnalysedView& analysis) {
    const QueryDependencies found = DependenciesOf(query);
    analysis.relations.assign(found.relations, found.relations + found.relation_count);
    if (!analysis.Reads(immv)) analysis.relations.push_back(immv);
    for (int i = 0; i < found.object_count; ++i)
        analysis.named_objects.emplace_back(found.cache_ids[i], found.hash_values[i]);
    PgCall([&] {
        pfree(found.relations);
        pfree(found.cache_ids);
        pfree(found.hash_values);
    });
}

// Analyses the stored query into `analysis`, whose dependencies are known.
void Analyse(const ImmvRecord& record, Query* query, AnalysedView& analysis) {
    analysis.definition = DescribeView(query, RelationName(record.relid), false);
    LocateCompanions(analysis.definition, record.relid);
    // The IMMV's own column names win: users may have renamed its columns.
    std::vector<std::string> names = AttributeNames(record.relid);
    names.resize(std::min(names.size(), core::VisibleColumns(analysis.definition).size()));
    core::ApplyColumnNames(analysis.definition, names);
    analysis.owner = RelationOwner(record.relid);
    analysis.read_by_immvs = !ImmvsReading(record.relid).empty();
}

}  // namespace

std::shared_ptr<const AnalysedView> AnalysedImmv(const ImmvRecord& record) {
    auto& analyses = Analyses();
    auto kept = analyses.find(record.relid);
    if (kept != analyses.end()) {
        if (kept->second->current && kept->second->query_tree == record.query_tree) return kept->second;
        kept->second->current = false;  // what was built on it is stale too
    }
    for (auto it = analyses.begin(); it != analyses.end();)
        it = it->second->current ? std::next(it) : analyses.erase(it);
    auto analysis = std::make_shared<AnalysedView>();
    analysis->query_tree = record.query_tree;
    Query* query = ImmvQuery(record);
    RecordDependencies(query, record.relid, *analysis);
    // Kept before the analysis reads the catalog: an invalidation of what
    // it reads, arriving meanwhile, marks it stale (it is then made again
    // on next use).
    analyses[record.relid] = analysis;
    try {
        Analyse(record, query, *analysis);
    } catch (...) {
        analysis->current = false;  // never reused
        throw;
    }
    return analysis;
}

void InvalidateAnalysesReading(Oid relid) {
    for (auto& [immv, analysis] : Analyses())
        if (!OidIsValid(relid) || analysis->Reads(relid)) analysis->current = false;
}

void InvalidateAnalysesNaming(int cache_id, uint32 hash_value) {
    // A schema renamed changes the qualified names of everything in it.
    const bool all = hash_value == 0 || cache_id == NAMESPACEOID;
    for (auto& [immv, analysis] : Analyses())
        if (all || analysis->Names(cache_id, hash_value)) analysis->current = false;
}

}  // namespace ivmx::pg
