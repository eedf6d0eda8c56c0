// Triggers and dependencies of IMMVs (see extension/ddl.hpp).
#include "ddl.hpp"

#include <string>
#include <utility>
#include <vector>

#include "catalog.hpp"
#include "hierarchy.hpp"
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
    {"ivmx_capture_before", TRIGGER_TYPE_BEFORE, TRIGGER_TYPE_INSERT | TRIGGER_TYPE_UPDATE | TRIGGER_TYPE_DELETE,
     nullptr, nullptr},
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
void CreateInternalTrigger(Oid relid, const char* name, int16 timing, int16 events, const char* function,
                           List* transitions) {
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
    CreateTriggerFiringOn(stmt, nullptr, relid, InvalidOid, InvalidOid, InvalidOid, InvalidOid, InvalidOid, nullptr,
                          true, false, TRIGGER_FIRES_ALWAYS);
}

Oid TriggerFunction(const char* name) {
    List* qualified = list_make2(makeString(pstrdup("ivmx")), makeString(pstrdup(name)));
    return LookupFuncName(qualified, 0, nullptr, false);
}

// Internal triggers of one relation calling one of pg_ivmx's trigger
// functions. Plain data (it lives inside PgCall regions). A relation has at
// most one trigger of each kind; a few more fit, the rest are not listed.
struct FoundTrigger {
    Oid oid;
    int16 type;
    char enabled;  // pg_trigger.tgenabled
};
struct TriggerSet {
    int count;
    FoundTrigger items[16];
};

// relid's internal triggers calling ivmx.<function>. (Internal triggers get
// their OID appended to the name, so they are found by function rather than
// by name.)
TriggerSet InternalTriggers(Oid relid, const char* function) {
    TriggerSet found{};
    const Oid function_oid = TriggerFunction(function);
    Relation rel = table_open(TriggerRelationId, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_trigger_tgrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
    SysScanDesc scan = systable_beginscan(rel, TriggerRelidNameIndexId, true, nullptr, 1, &key);
    HeapTuple tuple;
    while (HeapTupleIsValid(tuple = systable_getnext(scan))) {
        auto* trigger = reinterpret_cast<Form_pg_trigger>(GETSTRUCT(tuple));
        if (trigger->tgisinternal && trigger->tgfoid == function_oid &&
            found.count < static_cast<int>(lengthof(found.items)))
            found.items[found.count++] = {trigger->oid, trigger->tgtype, trigger->tgenabled};
    }
    systable_endscan(scan);
    table_close(rel, AccessShareLock);
    return found;
}

// Whether triggers holds one of type `type` that fires always (as created).
bool HasWorkingTrigger(const TriggerSet& triggers, int16 type) {
    for (int i = 0; i < triggers.count; ++i)
        if (triggers.items[i].type == type && triggers.items[i].enabled == TRIGGER_FIRES_ALWAYS) return true;
    return false;
}

constexpr int16 kGuardTriggerType =
    TRIGGER_TYPE_BEFORE | TRIGGER_TYPE_INSERT | TRIGGER_TYPE_UPDATE | TRIGGER_TYPE_DELETE | TRIGGER_TYPE_TRUNCATE;

// Whether relid has every capture trigger, each firing always.
bool CaptureTriggersIntact(Oid relid) {
    const TriggerSet existing = InternalTriggers(relid, "capture_trigger");
    for (const CaptureTrigger& t : kCaptureTriggers)
        if (!HasWorkingTrigger(existing, t.timing | t.events)) return false;
    return true;
}

bool GuardTriggerIntact(Oid immv) {
    return HasWorkingTrigger(InternalTriggers(immv, "guard_trigger"), kGuardTriggerType);
}

// Drops relid's triggers calling ivmx.<function> that do not fire always
// (disabled, or enabled for origin or replica sessions only).
void DropNonWorkingTriggers(Oid relid, const char* function) {
    const TriggerSet existing = InternalTriggers(relid, function);
    for (int i = 0; i < existing.count; ++i) {
        if (existing.items[i].enabled == TRIGGER_FIRES_ALWAYS) continue;
        ObjectAddress address;
        ObjectAddressSet(address, TriggerRelationId, existing.items[i].oid);
        performDeletion(&address, DROP_RESTRICT, PERFORM_DELETION_INTERNAL);
    }
    CommandCounterIncrement();
}

}  // namespace

void EnsureCaptureTriggers(Oid relid) {
    PgCall([&] {
        const TriggerSet existing = InternalTriggers(relid, "capture_trigger");
        for (const CaptureTrigger& t : kCaptureTriggers) {
            bool present = false;
            for (int i = 0; i < existing.count; ++i) present |= existing.items[i].type == (t.timing | t.events);
            if (present) continue;
            List* transitions = NIL;
            if (t.new_table != nullptr) transitions = lappend(transitions, Transition(t.new_table, true));
            if (t.old_table != nullptr) transitions = lappend(transitions, Transition(t.old_table, false));
            CreateInternalTrigger(relid, t.name, t.timing, t.events, "capture_trigger", transitions);
        }
        CommandCounterIncrement();
    });
}

void DropCaptureTriggers(Oid relid) {
    PgCall([&] {
        if (get_rel_name(relid) == nullptr) return;  // dropped itself
        const TriggerSet existing = InternalTriggers(relid, "capture_trigger");
        for (int i = 0; i < existing.count; ++i) {
            ObjectAddress address;
            ObjectAddressSet(address, TriggerRelationId, existing.items[i].oid);
            performDeletion(&address, DROP_RESTRICT, PERFORM_DELETION_INTERNAL);
        }
        CommandCounterIncrement();
    });
}

void CreateGuardTrigger(Oid immv) {
    PgCall([&] {
        CreateInternalTrigger(immv, kGuardTriggerName, TRIGGER_TYPE_BEFORE, kGuardTriggerType & ~TRIGGER_TYPE_BEFORE,
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

bool TriggersIntact(Oid immv) {
    for (Oid base : ImmvInputs(immv))
        for (Oid relid : CaptureLine(base))
            if (!PgCall([&] { return CaptureTriggersIntact(relid); })) return false;
    return PgCall([&] { return GuardTriggerIntact(immv); });
}

void WarnIfTriggersMissing(Oid immv) {
    if (!TriggersIntact(immv)) WarnTriggersMissing(immv);
}

void WarnTriggersMissing(Oid immv) {
    PgCall([&] {
        ereport(WARNING,
                (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                 errmsg("IMMV \"%s\" is not maintained: triggers it needs are missing or disabled", get_rel_name(immv)),
                 errdetail("Changes of the relations it reads are not all captured, or the IMMV itself is not "
                           "protected from direct writes."),
                 errhint("Refresh it with ivmx.refresh_immv(), which recreates the triggers and recomputes "
                         "the IMMV.")));
    });
}

namespace {

// Recreates relid's capture triggers if any is missing or does not fire
// always; returns whether it did. Attaching them again needs the right
// creating the IMMV needed: TRIGGER on the relation.
bool RepairCaptureTriggers(Oid relid) {
    if (PgCall([&] { return CaptureTriggersIntact(relid); })) return false;
    PgCall([&] {
        if (pg_class_aclcheck(relid, GetUserId(), ACL_TRIGGER) != ACLCHECK_OK)
            ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                            errmsg("permission denied to recreate the triggers of table \"%s\"", get_rel_name(relid)),
                            errdetail("An IMMV is maintained through triggers on each table it reads; attaching them "
                                      "needs the TRIGGER privilege on the table."),
                            errhint("Ask the table's owner to grant TRIGGER on it, or drop the IMMV.")));
        DropNonWorkingTriggers(relid, "capture_trigger");
    });
    EnsureCaptureTriggers(relid);
    PgCall([&] { ereport(NOTICE, (errmsg("recreated the pg_ivmx triggers of table \"%s\"", get_rel_name(relid)))); });
    return true;
}

bool RepairGuardTrigger(Oid immv) {
    if (PgCall([&] { return GuardTriggerIntact(immv); })) return false;
    PgCall([&] { DropNonWorkingTriggers(immv, "guard_trigger"); });
    CreateGuardTrigger(immv);
    PgCall([&] { ereport(NOTICE, (errmsg("recreated the guard trigger of IMMV \"%s\"", get_rel_name(immv)))); });
    return true;
}

}  // namespace

void RepairTriggers(Oid immv) {
    std::vector<Oid> captured;
    for (Oid base : ImmvInputs(immv))
        for (Oid relid : CaptureLine(base)) captured.push_back(relid);
    bool repaired = false;
    for (Oid relid : captured) repaired |= RepairCaptureTriggers(relid);
    repaired |= RepairGuardTrigger(immv);
    if (!repaired) return;
    for (Oid relid : captured) InvalidatePlans(relid);
    InvalidatePlans(immv);
}

bool IsMaintenanceTrigger(Oid relid, const char* name) {
    return PgCall([&] {
        const Oid trigger = get_trigger_oid(relid, name, true);
        if (!OidIsValid(trigger)) return false;
        for (const char* function : {"capture_trigger", "guard_trigger"}) {
            const TriggerSet found = InternalTriggers(relid, function);
            for (int i = 0; i < found.count; ++i)
                if (found.items[i].oid == trigger) return true;
        }
        return false;
    });
}

void RefuseTemporaryImmv(Oid relid) {
    PgCall([&] {
        if (get_rel_persistence(relid) != RELPERSISTENCE_TEMP) return;
        ereport(ERROR,
                (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("IMMV \"%s\" cannot be temporary", get_rel_name(relid)),
                 errdetail("An IMMV and its maintenance outlive the session that creates it."),
                 errhint("Create it in a permanent schema.")));
    });
}

void InvalidatePlans(Oid relid) {
    PgCall([&] {
        // A relation dropped in this transaction has sent its own invalidation.
        if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid))) CacheInvalidateRelcacheByRelid(relid);
    });
}

}  // namespace ivmx::pg
