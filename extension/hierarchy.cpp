// Partitioned tables and inheritance parents as base relations of IMMVs (see
// extension/hierarchy.hpp).
#include "hierarchy.hpp"

#include <algorithm>
#include <string>

#include "../scheduler/workers.hpp"
#include "catalog.hpp"
#include "ddl.hpp"
#include "delta_log.hpp"
#include "ivmx/pg/guards.hpp"
#include "maintainer.hpp"
#include "pg_util.hpp"
#include "statement_batch.hpp"
#include "transaction_changes.hpp"

extern "C" {
#include "access/tableam.h"
#include "access/tupconvert.h"
#include "catalog/pg_inherits.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "utils/partcache.h"
#include "utils/tuplestore.h"
}

namespace ivmx::pg {

namespace {

void AddOnce(std::vector<Oid>& to, Oid relid) {
    if (std::find(to.begin(), to.end(), relid) == to.end()) to.push_back(relid);
}

bool Contains(const std::vector<Oid>& in, Oid relid) {
    return std::find(in.begin(), in.end(), relid) != in.end();
}

// relid's direct parents (pg_inherits.inhparent of its rows).
std::vector<Oid> Parents(Oid relid) {
    std::vector<Oid> parents;
    PgCall([&] {
        Relation inherits = table_open(InheritsRelationId, AccessShareLock);
        ScanKeyData key;
        ScanKeyInit(&key, Anum_pg_inherits_inhrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
        SysScanDesc scan = systable_beginscan(inherits, InheritsRelidSeqnoIndexId, true, nullptr, 1, &key);
        HeapTuple tuple;
        List* found = NIL;
        while (HeapTupleIsValid(tuple = systable_getnext(scan)))
            found = lappend_oid(found, reinterpret_cast<Form_pg_inherits>(GETSTRUCT(tuple))->inhparent);
        systable_endscan(scan);
        table_close(inherits, AccessShareLock);
        ListCell* lc;
        foreach (lc, found) parents.push_back(lfirst_oid(lc));
    });
    return parents;
}

// Whether IMMVs read relid.
bool IsBase(Oid relid) {
    return !ImmvsReading(relid).empty();
}

std::vector<Oid> Bases(const std::vector<Oid>& relids) {
    std::vector<Oid> bases;
    for (Oid relid : relids)
        if (IsBase(relid)) bases.push_back(relid);
    return bases;
}

// The rows of relid and its descendants, in the columns of `desc` (a base
// relation's: an inheritance child may have more columns, or its columns
// in another order), as of the latest snapshot.
Tuplestorestate* RowsOf(Oid relid, TupleDesc desc) {
    return PgCall([&] {
        Tuplestorestate* rows = tuplestore_begin_heap(false, false, work_mem);
        Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
        TupleTableSlot* out = MakeSingleTupleTableSlot(desc, &TTSOpsVirtual);
        List* members = find_all_inheritors(relid, AccessShareLock, nullptr);
        ListCell* lc;
        foreach (lc, members) {
            Relation rel = table_open(lfirst_oid(lc), AccessShareLock);
            if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE) {
                table_close(rel, AccessShareLock);
                continue;
            }
            TupleConversionMap* map = convert_tuples_by_name(RelationGetDescr(rel), desc);
            TupleTableSlot* in = table_slot_create(rel, nullptr);
            TableScanDesc scan = table_beginscan(rel, snapshot, 0, nullptr);
            while (table_scan_getnextslot(scan, ForwardScanDirection, in))
                tuplestore_puttupleslot(rows, map != nullptr ? execute_attr_map_slot(map->attrMap, in, out) : in);
            table_endscan(scan);
            ExecDropSingleTupleTableSlot(in);
            table_close(rel, AccessShareLock);
        }
        ExecDropSingleTupleTableSlot(out);
        UnregisterSnapshot(snapshot);
        return rows;
    });
}

// The rows of relid (with its descendants) joined (`appear`) or left base
// relation `base`'s line: a change of the base like a statement's, logged
// for its deferred IMMVs and saved for its immediate ones (applied before
// the transaction commits, or before a query reads them).
void RecordRowsMoving(Oid relid, Oid base, bool appear) {
    Relation rel = PgCall([&] { return table_open(base, NoLock); });
    const TupleDesc desc = RelationGetDescr(rel);
    Tuplestorestate* rows = RowsOf(relid, desc);
    // No rows, no change: no lock on its IMMVs either (a DDL statement
    // holding a partition must not wait for them at its commit).
    if (PgCall([&] { return tuplestore_tuple_count(rows); }) == 0) {
        PgCall([&] {
            tuplestore_end(rows);
            table_close(rel, NoLock);
        });
        return;
    }
    const RelationMaintenance& maintenance = LockMaintenanceForLater(base);
    bool immediate = false;
    for (const auto& view : maintenance.views) immediate |= view->active();
    Tuplestorestate* inserted = appear ? rows : nullptr;
    Tuplestorestate* deleted = appear ? nullptr : rows;
    if (maintenance.log) {
        // Under the transition tables' names too, for a log written by a
        // statement (DeltaLogWriter::Write).
        const char* name = appear ? kNewTableName : kOldTableName;
        RegisterChangedRows(rows, base, name);
        maintenance.log->Write(appear ? ChangeKind::Insert : ChangeKind::Delete, desc, inserted, deleted);
        PgCall([&] { SPI_unregister_relation(name); });
        NoteDeferredChange();
    }
    if (immediate) {
        SaveChange(base, inserted, deleted, desc);
        NoteStaleReaders(maintenance);
    }
    PgCall([&] {
        tuplestore_end(rows);
        table_close(rel, NoLock);
    });
}

// The rows of a moved relation leave the bases it no longer descends from
// and join those it descends from now.
void RecordMove(const HierarchyMove& move) {
    const std::vector<Oid> now = Ancestors(move.relid);
    for (Oid base : Bases(move.before))
        if (!Contains(now, base)) RecordRowsMoving(move.relid, base, false);
    for (Oid base : Bases(now))
        if (!Contains(move.before, base)) RecordRowsMoving(move.relid, base, true);
}

Oid RelidOf(RangeVar* rv) {
    return PgCall([&] { return RangeVarGetRelid(rv, NoLock, true); });
}

// Whether pg_ivmx is installed in this database (its catalog exists).
bool Installed() {
    return PgCall([] {
        const Oid nsp = get_namespace_oid("ivmx", true);
        return OidIsValid(nsp) && OidIsValid(get_relname_relid("immv", nsp));
    });
}

// DROP TABLE: the rows of each dropped table leave the bases above it that
// stay (a table dropped with an ancestor dropped too leaves with it).
void RecordDrops(DropStmt* stmt) {
    std::vector<Oid> dropped;
    ListCell* lc;
    foreach (lc, stmt->objects) {
        List* names = static_cast<List*>(lfirst(lc));
        const Oid relid = PgCall([&] { return RangeVarGetRelid(makeRangeVarFromNameList(names), NoLock, true); });
        if (OidIsValid(relid)) dropped.push_back(relid);
    }
    for (Oid relid : dropped) {
        const std::vector<Oid> above = Ancestors(relid);
        if (std::any_of(above.begin(), above.end(), [&](Oid a) { return Contains(dropped, a); })) continue;
        for (Oid base : Bases(above)) RecordRowsMoving(relid, base, false);
    }
}

}  // namespace

Tuplestorestate* FilteredForPartition(Tuplestorestate* rows, TupleDesc from, Oid partition) {
    if (rows == nullptr) return nullptr;
    return PgCall([&] {
        Relation rel = table_open(partition, NoLock);
        const TupleDesc to = RelationGetDescr(rel);
        Tuplestorestate* out = tuplestore_begin_heap(false, false, work_mem);
        TupleConversionMap* map = convert_tuples_by_name(from, to);
        EState* estate = CreateExecutorState();
        ExprContext* econtext = GetPerTupleExprContext(estate);
        Expr* constraint = get_partition_qual_relid(partition);
        ExprState* check = constraint != nullptr ? ExecPrepareCheck(list_make1(constraint), estate) : nullptr;
        TupleTableSlot* in = MakeSingleTupleTableSlot(from, &TTSOpsMinimalTuple);
        TupleTableSlot* converted = MakeSingleTupleTableSlot(to, &TTSOpsVirtual);
        const int pointer = tuplestore_alloc_read_pointer(rows, EXEC_FLAG_REWIND);
        tuplestore_select_read_pointer(rows, pointer);
        tuplestore_rescan(rows);
        while (tuplestore_gettupleslot(rows, true, false, in)) {
            TupleTableSlot* row = map != nullptr ? execute_attr_map_slot(map->attrMap, in, converted) : in;
            ResetExprContext(econtext);
            econtext->ecxt_scantuple = row;
            if (ExecCheck(check, econtext)) tuplestore_puttupleslot(out, row);
        }
        tuplestore_select_read_pointer(rows, 0);
        ExecDropSingleTupleTableSlot(in);
        ExecDropSingleTupleTableSlot(converted);
        if (map != nullptr) free_conversion_map(map);
        FreeExecutorState(estate);
        table_close(rel, NoLock);
        return out;
    });
}

std::vector<Oid> Ancestors(Oid relid) {
    std::vector<Oid> found;
    std::vector<Oid> frontier{relid};
    while (!frontier.empty()) {
        std::vector<Oid> next;
        for (Oid r : frontier)
            for (Oid parent : Parents(r))
                if (!Contains(found, parent)) {
                    found.push_back(parent);
                    next.push_back(parent);
                }
        frontier = std::move(next);
    }
    return found;
}

std::vector<Oid> Descendants(Oid relid) {
    std::vector<Oid> found;
    PgCall([&] {
        List* all = find_all_inheritors(relid, NoLock, nullptr);
        ListCell* lc;
        foreach (lc, all)
            if (lfirst_oid(lc) != relid) found.push_back(lfirst_oid(lc));
    });
    return found;
}

std::vector<Oid> CaptureLine(Oid relid) {
    std::vector<Oid> line = Ancestors(relid);
    line.push_back(relid);
    for (Oid d : Descendants(relid)) AddOnce(line, d);
    return line;
}

ServedBases ServedRelations(Oid fired) {
    ServedBases served;
    if (IsBase(fired)) served.all.push_back(fired);
    for (Oid member : Ancestors(fired))
        if (IsBase(member)) served.all.push_back(member);
    for (Oid member : Descendants(fired))
        if (IsBase(member)) {
            served.all.push_back(member);
            served.below.push_back(member);
        }
    return served;
}

void SyncHierarchyCapture(Oid relid) {
    if (PgCall([&] { return get_rel_name(relid) == nullptr; })) return;  // dropped itself
    std::vector<Oid> members;
    std::vector<Oid> roots;
    for (Oid a : Ancestors(relid))
        if (Parents(a).empty()) roots.push_back(a);
    if (roots.empty()) roots.push_back(relid);
    for (Oid root : roots) {
        AddOnce(members, root);
        for (Oid d : Descendants(root)) AddOnce(members, d);
    }
    std::vector<Oid> needed;
    for (Oid base : Bases(members))
        for (Oid m : CaptureLine(base)) AddOnce(needed, m);
    for (Oid m : needed) AddOnce(members, m);
    for (Oid m : members) {
        if (Contains(needed, m))
            EnsureCaptureTriggers(m);
        else
            DropCaptureTriggers(m);
        InvalidatePlans(m);
    }
}

HierarchyDdlState BeforeHierarchyDdl(Node* parsetree) {
    HierarchyDdlState state;
    const bool relevant = (IsA(parsetree, AlterTableStmt) ||
                           (IsA(parsetree, DropStmt) && castNode(DropStmt, parsetree)->removeType == OBJECT_TABLE)) &&
                          Installed();
    if (!relevant) return state;
    SpiConnect();
    if (IsA(parsetree, DropStmt)) {
        RecordDrops(castNode(DropStmt, parsetree));
        SpiFinish();
        return state;
    }
    AlterTableStmt* stmt = castNode(AlterTableStmt, parsetree);
    const Oid relid = RelidOf(stmt->relation);
    ListCell* lc;
    foreach (lc, stmt->cmds) {
        auto* cmd = static_cast<AlterTableCmd*>(lfirst(lc));
        Oid moved = InvalidOid;
        switch (cmd->subtype) {
            case AT_AttachPartition:
            case AT_DetachPartition:
            case AT_DetachPartitionFinalize:
                moved = RelidOf(castNode(PartitionCmd, cmd->def)->name);
                break;
            case AT_AddInherit:
            case AT_DropInherit:
                moved = relid;
                break;
            default:
                break;
        }
        if (OidIsValid(moved)) state.moves.push_back({moved, Ancestors(moved)});
    }
    SpiFinish();
    return state;
}

void AfterHierarchyDdl(Node* parsetree, const HierarchyDdlState& state) {
    std::vector<HierarchyMove> moves = state.moves;
    if (IsA(parsetree, CreateStmt)) {
        CreateStmt* stmt = castNode(CreateStmt, parsetree);
        if (stmt->inhRelations == NIL || !Installed()) return;
        const Oid relid = RelidOf(stmt->relation);
        if (!OidIsValid(relid)) return;
        moves.push_back({relid, {}});
    }
    if (moves.empty()) return;
    SpiConnect();
    for (const HierarchyMove& move : moves) {
        SyncHierarchyCapture(move.relid);
        if (!move.before.empty()) SyncHierarchyCapture(move.before.front());
        RecordMove(move);
    }
    SpiFinish();
}

}  // namespace ivmx::pg
