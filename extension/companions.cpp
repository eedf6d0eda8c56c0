// Companion tables of IMMVs (see companions.hpp).
#include "companions.hpp"

#include <string>

#include "ddl.hpp"
#include "ivmx/core/distinct_values.hpp"
#include "ivmx/core/error.hpp"
#include "ivmx/core/group_filter.hpp"
#include "ivmx/core/sql_text.hpp"
#include "ivmx/core/sql_writer.hpp"
#include "ivmx/pg/guards.hpp"
#include "pg_util.hpp"

namespace ivmx::pg {

namespace {

// The relations with an internal dependency on immv, plain tables only (its
// TOAST table has one too). A palloc'd array; PostgreSQL data only.
Oid* InternalTables(Oid immv, int* count) {
    Relation depend = table_open(DependRelationId, AccessShareLock);
    ScanKeyData keys[2];
    ScanKeyInit(&keys[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber, F_OIDEQ,
                ObjectIdGetDatum(RelationRelationId));
    ScanKeyInit(&keys[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(immv));
    SysScanDesc scan = systable_beginscan(depend, DependReferenceIndexId, true, nullptr, 2, keys);
    Oid* found = static_cast<Oid*>(palloc(sizeof(Oid) * 8));
    int n = 0, room = 8;
    HeapTuple tuple;
    while (HeapTupleIsValid(tuple = systable_getnext(scan))) {
        auto* dep = reinterpret_cast<Form_pg_depend>(GETSTRUCT(tuple));
        if (dep->deptype != DEPENDENCY_INTERNAL || dep->classid != RelationRelationId || dep->objsubid != 0) continue;
        if (get_rel_relkind(dep->objid) != RELKIND_RELATION) continue;
        if (n == room) found = static_cast<Oid*>(repalloc(found, sizeof(Oid) * (room *= 2)));
        found[n++] = dep->objid;
    }
    systable_endscan(scan);
    table_close(depend, AccessShareLock);
    *count = n;
    return found;
}

// The relation `table` has an internal dependency on (InvalidOid: none).
// PostgreSQL data only.
Oid InternalOwner(Oid table) {
    Relation depend = table_open(DependRelationId, AccessShareLock);
    ScanKeyData keys[2];
    ScanKeyInit(&keys[0], Anum_pg_depend_classid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(RelationRelationId));
    ScanKeyInit(&keys[1], Anum_pg_depend_objid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(table));
    SysScanDesc scan = systable_beginscan(depend, DependDependerIndexId, true, nullptr, 2, keys);
    Oid owner = InvalidOid;
    HeapTuple tuple;
    while (HeapTupleIsValid(tuple = systable_getnext(scan))) {
        auto* dep = reinterpret_cast<Form_pg_depend>(GETSTRUCT(tuple));
        if (dep->deptype == DEPENDENCY_INTERNAL && dep->refclassid == RelationRelationId && dep->objsubid == 0)
            owner = dep->refobjid;
    }
    systable_endscan(scan);
    table_close(depend, AccessShareLock);
    return owner;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Replaces a plain table named like a companion that a dump left behind.
void DropRestoredCopy(const core::QualifiedName& name, Oid owner) {
    const Oid existing =
        PgCall([&] { return get_relname_relid(name.name.c_str(), get_namespace_oid(name.schema.c_str(), false)); });
    if (existing == InvalidOid) return;
    if (RelationOwner(existing) != owner || PgCall([&] { return get_rel_relkind(existing); }) != RELKIND_RELATION)
        throw core::Error(core::sqlstate::kDuplicateTable, "relation \"" + name.name + "\" already exists",
                          "The IMMV keeps a table of that name beside it.",
                          "Rename or drop the relation, then try again.");
    SpiExecute("DROP TABLE " + core::QuoteQualified(name));
}

}  // namespace

std::vector<Oid> CompanionTables(Oid immv) {
    int count = 0;
    Oid* found = PgCall([&] { return InternalTables(immv, &count); });
    std::vector<Oid> tables(found, found + count);
    PgCall([&] { pfree(found); });
    return tables;
}

Oid ImmvOfCompanion(Oid table) {
    return PgCall([&] { return InternalOwner(table); });
}

void LocateCompanions(core::ViewDefinition& view, Oid immv) {
    std::vector<core::QualifiedName> tables;
    for (Oid table : CompanionTables(immv)) tables.push_back(RelationName(table));
    // The table whose name ends in `suffix` (as made: the IMMV's name may
    // have been cut to fit).
    auto locate = [&](core::QualifiedName& name, const std::string& suffix) {
        for (const auto& table : tables)
            if (EndsWith(table.name, suffix)) {
                name = table;
                return;
            }
        throw core::Error(core::sqlstate::kObjectNotInPrerequisiteState,
                          "IMMV \"" + view.immv.name + "\" has lost a table it keeps beside it",
                          "Its table named like \"" + name.name + "\" is missing.",
                          "Recreate the IMMV with ivmx.create_immv().");
    };
    if (view.groups_table) locate(*view.groups_table, core::kGroupsSuffix);
    for (size_t j = 0; j < view.distinct_values.size(); ++j)
        locate(view.distinct_values[j].table, core::DistinctValuesSuffix(j + 1));
}

void CreateCompanions(const core::ViewDefinition& view, Oid immv, bool restore) {
    const Oid owner = RelationOwner(immv);
    if (restore)
        for (const auto& name : core::Companions(view)) DropRestoredCopy(name, owner);
    for (const auto& sql : core::CreateCompanionsSql(view)) SpiExecute(sql);
    for (const auto& name : core::Companions(view)) {
        const Oid table =
            PgCall([&] { return get_relname_relid(name.name.c_str(), get_namespace_oid(name.schema.c_str(), false)); });
        PgCall([&] {
            ObjectAddress companion, owner_object;
            ObjectAddressSet(companion, RelationRelationId, table);
            ObjectAddressSet(owner_object, RelationRelationId, immv);
            recordDependencyOn(&companion, &owner_object, DEPENDENCY_INTERNAL);
            CommandCounterIncrement();
        });
        CreateGuardTrigger(table);
    }
}

void FollowOwner(Oid immv) {
    const Oid owner = RelationOwner(immv);
    for (Oid table : CompanionTables(immv))
        if (RelationOwner(table) != owner) PgCall([&] { ATExecChangeOwner(table, owner, true, AccessExclusiveLock); });
}

}  // namespace ivmx::pg
