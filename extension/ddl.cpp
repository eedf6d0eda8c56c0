// Triggers and dependencies of IMMVs (see extension/ddl.hpp).
#include "ddl.hpp"

#include <string>
#include <utility>
#include <vector>

#include "catalog.hpp"
#include "ivmx/pg/guards.hpp"
#include "maintainer.hpp"

namespace ivmx::pg {

namespace {

struct CaptureTrigger {
    const char* name;
    int16 timing;
    int16 events;
    const char* new_table;  // REFERENCING NEW TABLE AS, or nullptr
    const char* old_table;  // REFERENCING OLD TABLE AS, or nullptr
};

// BEFORE counts statements in flight (see statement_batch.hpp); the AFTER
// triggers capture each statement's rows.
const CaptureTrigger kCaptureTriggers[] = {
    {"ivmx_capture_before", TRIGGER_TYPE_BEFORE,
     TRIGGER_TYPE_INSERT | TRIGGER_TYPE_UPDATE | TRIGGER_TYPE_DELETE, nullptr, nullptr},
    {"ivmx_capture_insert", TRIGGER_TYPE_AFTER, TRIGGER_TYPE_INSERT, kNewTableName, nullptr},
    {"ivmx_capture_update", TRIGGER_TYPE_AFTER, TRIGGER_TYPE_UPDATE, kNewTableName, kOldTableName},
    {"ivmx_capture_delete", TRIGGER_TYPE_AFTER, TRIGGER_TYPE_DELETE, nullptr, kOldTableName},
    {"ivmx_capture_truncate", TRIGGER_TYPE_AFTER, TRIGGER_TYPE_TRUNCATE, nullptr, nullptr},
};

const char* kGuardTriggerName = "ivmx_guard";

TriggerTransition* Transition(const char* name, bool is_new) {
    TriggerTransition* t = makeNode(TriggerTransition);
    t->name = pstrdup(name);
    t->isNew = is_new;
    t->isTable = true;
    return t;
}

// Creates one internal statement-level trigger (not dumped, not shown by \d).
// It fires whatever session_replication_role says (ENABLE ALWAYS): changes
// applied by logical replication, or by a session in replica mode, are
// still captured, and such a session still cannot write to an IMMV.
void CreateInternalTrigger(Oid relid, const char* name, int16 timing, int16 events,
                           const char* function, List* transitions) {
    CreateTrigStmt* stmt = makeNode(CreateTrigStmt);
    stmt->replace = false;
    stmt->isconstraint = false;
    stmt->trigname = pstrdup(name);
    stmt->relation = nullptr;
    stmt->funcname = list_make2(makeString(pstrdup("ivmx")), makeString(pstrdup(function)));
    stmt->args = NIL;
    stmt->row = false;
    stmt->timing = timing;
    stmt->events = events;
    stmt->columns = NIL;
    stmt->whenClause = nullptr;
    stmt->transitionRels = transitions;
    stmt->deferrable = false;
    stmt->initdeferred = false;
    stmt->constrrel = nullptr;
    CreateTriggerFiringOn(stmt, nullptr, relid, InvalidOid, InvalidOid, InvalidOid, InvalidOid, InvalidOid,
                          nullptr, true, false, TRIGGER_FIRES_ALWAYS);
}

Oid TriggerFunction(const char* name) {
    List* qualified = list_make2(makeString(pstrdup("ivmx")), makeString(pstrdup(name)));
    return LookupFuncName(qualified, 0, nullptr, false);
}

// OIDs of relid's internal triggers calling ivmx.<function>, by event type.
// (Internal triggers get their OID appended to the name, so they are found
// by function rather than by name.)
std::vector<std::pair<Oid, int16>> InternalTriggers(Oid relid, const char* function) {
    std::vector<std::pair<Oid, int16>> found;
    const Oid function_oid = TriggerFunction(function);
    Relation rel = table_open(TriggerRelationId, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_trigger_tgrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
    SysScanDesc scan = systable_beginscan(rel, TriggerRelidNameIndexId, true, nullptr, 1, &key);
    HeapTuple tuple;
    while (HeapTupleIsValid(tuple = systable_getnext(scan))) {
        auto* trigger = reinterpret_cast<Form_pg_trigger>(GETSTRUCT(tuple));
        if (trigger->tgisinternal && trigger->tgfoid == function_oid)
            found.emplace_back(trigger->oid, trigger->tgtype);
    }
    systable_endscan(scan);
    table_close(rel, AccessShareLock);
    return found;
}

bool HasTrigger(const std::vector<std::pair<Oid, int16>>& triggers, const CaptureTrigger& wanted) {
    for (const auto& [oid, type] : triggers)
        if (type == (wanted.timing | wanted.events)) return true;
    return false;
}

}  // namespace

void EnsureCaptureTriggers(Oid relid) {
    PgCall([&] {
        const auto existing = InternalTriggers(relid, "capture_trigger");
        for (const CaptureTrigger& t : kCaptureTriggers) {
            if (HasTrigger(existing, t)) continue;
            List* transitions = NIL;
            if (t.new_table != nullptr) transitions = lappend(transitions, Transition(t.new_table, true));
            if (t.old_table != nullptr) transitions = lappend(transitions, Transition(t.old_table, false));
            CreateInternalTrigger(relid, t.name, t.timing, t.events, "capture_trigger", transitions);
        }
        CommandCounterIncrement();
    });
}

void DropCaptureTriggersIfUnused(Oid relid) {
    if (!ImmvsReading(relid).empty()) return;
    PgCall([&] {
        if (get_rel_name(relid) == nullptr) return;  // dropped itself
        for (const auto& [trigger, type] : InternalTriggers(relid, "capture_trigger")) {
            ObjectAddress address;
            ObjectAddressSet(address, TriggerRelationId, trigger);
            performDeletion(&address, DROP_RESTRICT, PERFORM_DELETION_INTERNAL);
        }
        CommandCounterIncrement();
    });
}

void CreateGuardTrigger(Oid immv) {
    PgCall([&] {
        CreateInternalTrigger(immv, kGuardTriggerName, TRIGGER_TYPE_BEFORE,
                              TRIGGER_TYPE_INSERT | TRIGGER_TYPE_UPDATE | TRIGGER_TYPE_DELETE |
                                  TRIGGER_TYPE_TRUNCATE,
                              "guard_trigger", NIL);
        CommandCounterIncrement();
    });
}

void RecordViewDependencies(Oid immv, Query* query) {
    PgCall([&] {
        ObjectAddress depender;
        ObjectAddressSet(depender, RelationRelationId, immv);
        recordDependencyOnExpr(&depender, reinterpret_cast<Node*>(query), NIL, DEPENDENCY_NORMAL);
        CommandCounterIncrement();
    });
}

void InvalidatePlans(Oid relid) {
    PgCall([&] {
        // A relation dropped in this transaction has sent its own invalidation.
        if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid))) CacheInvalidateRelcacheByRelid(relid);
    });
}

}  // namespace ivmx::pg
