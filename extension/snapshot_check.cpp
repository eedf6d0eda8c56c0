// Serialization checks for full recomputes (see extension/snapshot_check.hpp).
#include "snapshot_check.hpp"

#include "ivmx/pg/guards.hpp"

extern "C" {
#include "access/tableam.h"
#include "executor/tuptable.h"
}

namespace ivmx::pg {

namespace {

// True if some tuple of relid is visible to exactly one of the two snapshots.
bool ContentsDiffer(Oid relid, Snapshot mine, Snapshot latest) {
    Relation rel = table_open(relid, AccessShareLock);
    TupleTableSlot* slot = table_slot_create(rel, nullptr);
    TableScanDesc scan = table_beginscan(rel, SnapshotAny, 0, nullptr);
    bool differ = false;
    while (!differ && table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
        differ = table_tuple_satisfies_snapshot(rel, slot, mine) != table_tuple_satisfies_snapshot(rel, slot, latest);
    }
    table_endscan(scan);
    ExecDropSingleTupleTableSlot(slot);
    table_close(rel, AccessShareLock);
    return differ;
}

}  // namespace

void EnsureSnapshotSeesLatest(const std::vector<Oid>& relids) {
    PgCall([&] {
        if (!IsolationUsesXactSnapshot()) return;
        Snapshot mine = RegisterSnapshot(GetTransactionSnapshot());
        Snapshot latest = RegisterSnapshot(GetLatestSnapshot());
        for (Oid relid : relids) {
            if (!ContentsDiffer(relid, mine, latest)) continue;
            ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                            errmsg("could not serialize access due to concurrent update"),
                            errdetail("Table \"%s\" was changed by a transaction that committed after "
                                      "this transaction's snapshot was taken.",
                                      get_rel_name(relid)),
                            errhint("Retry the transaction, or run it in READ COMMITTED.")));
        }
        UnregisterSnapshot(latest);
        UnregisterSnapshot(mine);
    });
}

}  // namespace ivmx::pg
