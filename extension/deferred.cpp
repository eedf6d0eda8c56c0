// Switching IMMVs into and out of deferred maintenance, and the SQL-callable
// functions of deferred mode: set_mode, set_refresh_interval, flush.
#include "deferred.hpp"

#include <algorithm>

#include <string>
#include <vector>

#include "../scheduler/refresh_runner.hpp"
#include "ddl.hpp"
#include "delta_log.hpp"
#include "ivmx/core/error.hpp"
#include "ivmx/core/sql_text.hpp"
#include "ivmx/core/watermark.hpp"
#include "ivmx/pg/guards.hpp"
#include "maintainer.hpp"
#include "pg_util.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(ivmx_set_mode);
PG_FUNCTION_INFO_V1(ivmx_set_refresh_interval);
PG_FUNCTION_INFO_V1(ivmx_flush);
PG_FUNCTION_INFO_V1(ivmx_flush_all);
Datum ivmx_set_mode(PG_FUNCTION_ARGS);
Datum ivmx_set_refresh_interval(PG_FUNCTION_ARGS);
Datum ivmx_flush(PG_FUNCTION_ARGS);
Datum ivmx_flush_all(PG_FUNCTION_ARGS);
}

namespace ivmx::pg {

namespace {

std::vector<Oid> DistinctRelations(const core::ViewDefinition& view) {
    std::vector<Oid> relids;
    for (const auto& rel : view.relations)
        if (std::find(relids.begin(), relids.end(), rel.relation_id) == relids.end())
            relids.push_back(rel.relation_id);
    return relids;
}

// The latest snapshot as pg_snapshot text.
std::string LatestSnapshotText() {
    return PgCall([] {
        Snapshot latest = RegisterSnapshot(GetLatestSnapshot());
        SPIPlanPtr plan = SPI_prepare("SELECT pg_current_snapshot()::text", 0, nullptr);
        int rc = SPI_execute_snapshot(plan, nullptr, nullptr, latest, InvalidSnapshot, true, false, 1);
        if (rc != SPI_OK_SELECT || SPI_processed != 1) elog(ERROR, "could not read the current snapshot");
        std::string text = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
        SPI_freeplan(plan);
        UnregisterSnapshot(latest);
        return text;
    });
}

// A deferred IMMV's watermark cannot tell apart this transaction's rows
// logged before and after it starts: refuse when some are already logged.
void RefuseOwnLoggedRows(Oid log) {
    const std::string sql = "SELECT 1 FROM " + core::QuoteQualified(RelationName(log)) +
                            " WHERE __ivm_xid = pg_current_xact_id_if_assigned() LIMIT 1";
    if (AsRole(CatalogOwner(), [&] { return SpiExecute(sql, true); }) > 0)
        throw core::Error("55000",
                          "cannot start deferred maintenance of a table this transaction has already "
                          "changed",
                          {}, "Do it in a transaction of its own.");
}

void UpdateCatalog(const std::string& assignments, Oid immv) {
    AsRole(CatalogOwner(), [&] {
        SpiExecute("UPDATE ivmx.immv SET " + assignments + " WHERE immvrelid = " + std::to_string(immv));
    });
}

void RequireOwner(Oid immv) {
    PgCall([&] {
        if (!compat::OwnsRelation(immv, GetUserId()))
            aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, get_rel_name(immv));
    });
}

}  // namespace

void SetRefreshIntervalOf(Oid immv, Datum interval) {
    const std::string text =
        PgCall([&] { return std::string(DatumGetCString(DirectFunctionCall1(interval_out, interval))); });
    UpdateCatalog("refresh_interval = '" + text + "'::interval", immv);
}

void ValidateDeferred(const core::ViewDefinition& view) {
    if (view.shape != core::ViewShape::Bag || core::HasRowKey(view)) return;
    for (const auto& column : view.columns)
        if (!column.has_equality)
            throw core::NotSupported("column \"" + column.name + "\" of type " + column.type_sql +
                                         " cannot be maintained in deferred mode",
                                     "A deferred batch is netted by row value, which needs a btree "
                                     "equality operator on every column.");
}

void BeginDeferred(Oid immv, const core::ViewDefinition& view) {
    ValidateDeferred(view);
    const Oid owner = RelationOwner(immv);
    for (Oid base : DistinctRelations(view)) {
        const Oid log = EnsureDeltaLog(base, view);
        RefuseOwnLoggedRows(log);
        // Refreshes run as the IMMV's owner, who can read the base table.
        const std::string role = PgCall([&] { return std::string(GetUserNameFromId(owner, false)); });
        AsRole(CatalogOwner(), [&] {
            SpiExecute("GRANT SELECT ON " + core::QuoteQualified(RelationName(log)) + " TO " + core::QuoteIdent(role));
        });
    }
    PgCall([] { CommandCounterIncrement(); });
    // The IMMV reflects every committed transaction and this one so far; this
    // transaction's rows logged from now on are pending.
    const uint64 own = PgCall([] {
        FullTransactionId fxid = GetTopFullTransactionIdIfAny();
        return FullTransactionIdIsValid(fxid) ? U64FromFullTransactionId(fxid) : uint64(0);
    });
    const auto seen = core::XidSnapshot::Parse(LatestSnapshotText());
    UpdateCatalog("mode = 'deferred', watermark = '" + core::WithPending(*seen, own).ToText() +
                      "'::pg_snapshot, partial_xid = NULL, partial_seq = NULL, failures = 0, "
                      "last_error = NULL, next_attempt = NULL",
                  immv);
    for (Oid base : DistinctRelations(view)) InvalidatePlans(base);
    InvalidatePlans(immv);
}

void EndDeferred(Oid immv, const core::ViewDefinition& view) {
    const std::vector<Oid> bases = DistinctRelations(view);
    for (Oid base : bases) PgCall([&] { LockRelationOid(base, ExclusiveLock); });
    while (RefreshDeferred(immv, RefreshKind::Auto).more_pending) {
    }
    UpdateCatalog("mode = 'immediate', watermark = NULL, partial_xid = NULL, partial_seq = NULL, "
                  "failures = 0, last_error = NULL, next_attempt = NULL, "
                  "populated_xid = pg_current_xact_id()",
                  immv);
    PgCall([] { CommandCounterIncrement(); });
    for (Oid base : bases) {
        DropDeltaLogIfUnused(base);
        InvalidatePlans(base);
    }
    InvalidatePlans(immv);
}

namespace {

void SetMode(Oid immv, const std::string& mode_name) {
    auto mode = ModeByName(mode_name);
    if (!mode)
        throw core::Error(core::sqlstate::kInvalidParameterValue,
                          "invalid maintenance mode \"" + mode_name + "\"", {},
                          "Valid modes are \"immediate\" and \"deferred\".");
    RequireOwner(immv);
    PgCall([&] { LockRelationOid(immv, ExclusiveLock); });
    SpiConnect();
    const ImmvRecord record = RequireImmv(immv);
    if (record.mode != *mode) {
        auto maintainer = LoadMaintainer(record);
        WithMaintenanceSettings([&] {
            if (*mode == MaintenanceMode::Deferred) BeginDeferred(immv, maintainer->definition());
            else EndDeferred(immv, maintainer->definition());
        });
    }
    SpiFinish();
}

void SetRefreshInterval(Oid immv, Datum interval, bool is_null) {
    RequireOwner(immv);
    SpiConnect();
    RequireImmv(immv);
    if (is_null) UpdateCatalog("refresh_interval = NULL", immv);
    else SetRefreshIntervalOf(immv, interval);
    SpiFinish();
}

// In REPEATABLE READ / SERIALIZABLE, the IMMV must not have been refreshed
// by a transaction this transaction's snapshot cannot see: the flush would
// find nothing left to do, yet this transaction would keep reading the IMMV
// as it was before that refresh.
void CheckRefreshVisible(Oid immv) {
    if (!PgCall([] { return IsolationUsesXactSnapshot(); })) return;
    const TransactionId xid = RequireImmv(immv).row_xmin;
    PgCall([&] {
        if (TransactionIdIsCurrentTransactionId(xid) || !XidInMVCCSnapshot(xid, GetTransactionSnapshot())) return;
        ereport(ERROR,
                (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                 errmsg("could not serialize access due to concurrent refresh of IMMV \"%s\"",
                        get_rel_name(immv)),
                 errdetail("The IMMV was refreshed by a transaction that committed after this "
                           "transaction's snapshot was taken."),
                 errhint("Retry the transaction, or flush in READ COMMITTED.")));
    });
}

// Applies everything pending for one deferred IMMV; returns log rows consumed.
int64 FlushOne(Oid immv) {
    int64 consumed = 0;
    CheckRefreshVisible(immv);
    RefreshResult result;
    do {
        result = WithMaintenanceSettings([&] { return RefreshDeferred(immv, RefreshKind::Auto); });
        consumed += result.rows_consumed;
    } while (result.more_pending);
    return consumed;
}

int64 Flush(Oid immv) {
    PgCall([&] {
        if (pg_class_aclcheck(immv, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
            aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, get_rel_name(immv));
    });
    SpiConnect();
    RequireImmv(immv);
    // Deferred IMMVs this one reads first, so that it sees them up to date.
    for (Oid upstream : DeferredUpstream(immv)) FlushOne(upstream);
    const int64 consumed = FlushOne(immv);
    SpiFinish();
    return consumed;
}

int64 FlushAll() {
    SpiConnect();
    std::vector<Oid> immvs =
        SpiOids("SELECT immvrelid::oid FROM ivmx.immv WHERE mode = 'deferred' AND populated");
    // Upstream views first: order by each view's deferred upstream chain.
    std::vector<Oid> ordered;
    for (Oid immv : immvs) {
        for (Oid up : DeferredUpstream(immv))
            if (std::find(ordered.begin(), ordered.end(), up) == ordered.end()) ordered.push_back(up);
        if (std::find(ordered.begin(), ordered.end(), immv) == ordered.end()) ordered.push_back(immv);
    }
    immvs = ordered;
    int64 consumed = 0;
    for (Oid immv : immvs) consumed += FlushOne(immv);
    SpiFinish();
    return consumed;
}

}  // namespace

}  // namespace ivmx::pg

using namespace ivmx::pg;

Datum ivmx_set_mode(PG_FUNCTION_ARGS) {
    return EntryGuard([&] { SetMode(PG_GETARG_OID(0), TextToString(PG_GETARG_DATUM(1))); });
}

Datum ivmx_set_refresh_interval(PG_FUNCTION_ARGS) {
    return EntryGuard([&] {
        if (PG_ARGISNULL(0)) throw ivmx::core::Error("22004", "immv must not be null");
        SetRefreshInterval(PG_GETARG_OID(0), PG_ARGISNULL(1) ? (Datum)0 : PG_GETARG_DATUM(1), PG_ARGISNULL(1));
    });
}

Datum ivmx_flush(PG_FUNCTION_ARGS) {
    return EntryGuard([&] { return Int64GetDatum(Flush(PG_GETARG_OID(0))); });
}

Datum ivmx_flush_all(PG_FUNCTION_ARGS) {
    return EntryGuard([&] { return Int64GetDatum(FlushAll()); });
}
