// Switching IMMVs into and out of deferred maintenance, and the SQL-callable
// functions of deferred mode: set_mode, set_refresh_interval, flush.
#include "transaction_changes.hpp"
#include "deferred.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "deferred_refresh.hpp"
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
        if (std::find(relids.begin(), relids.end(), rel.relation_id) == relids.end()) relids.push_back(rel.relation_id);
    return relids;
}

// The latest snapshot as pg_snapshot text.
std::string LatestSnapshotText() {
    const char* text = PgCall([] {
        Snapshot latest = RegisterSnapshot(GetLatestSnapshot());
        SPIPlanPtr plan = SPI_prepare("SELECT pg_current_snapshot()::text", 0, nullptr);
        if (plan == nullptr)
            elog(ERROR, "could not prepare the query of the current snapshot: %s", SPI_result_code_string(SPI_result));
        int rc = SPI_execute_snapshot(plan, nullptr, nullptr, latest, InvalidSnapshot, true, false, 1);
        if (rc != SPI_OK_SELECT || SPI_processed != 1) elog(ERROR, "could not read the current snapshot");
        char* value = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
        if (value == nullptr) elog(ERROR, "could not read the current snapshot");
        SPI_freeplan(plan);
        UnregisterSnapshot(latest);
        return value;
    });
    return text;
}

// A deferred IMMV's watermark cannot tell apart this transaction's rows
// logged before and after it starts: refuse when some are already logged.
void RefuseOwnLoggedRows(Oid log) {
    const std::string sql = "SELECT 1 FROM " + core::QuoteQualified(RelationName(log)) +
                            " WHERE __ivm_xid = pg_current_xact_id_if_assigned() LIMIT 1";
    if (AsCatalogOwner([&] { return SpiExecute(sql, true); }) > 0)
        throw core::Error(core::sqlstate::kObjectNotInPrerequisiteState,
                          "cannot start deferred maintenance of a table this transaction has already "
                          "changed",
                          {}, "Do it in a transaction of its own.");
}

void RequireOwner(Oid immv) {
    PgCall([&] {
        if (!compat::OwnsRelation(immv, GetUserId()))
            aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, get_rel_name(immv));
    });
}

// The longest refresh interval accepted: a year, counted as EXTRACT(EPOCH)
// counts one (365.25 days). Longer ones serve no purpose (an IMMV that
// should not be refreshed on its own is better immediate, or flushed), and
// values near the limits of the interval type would overflow the
// scheduler's timestamp arithmetic.
constexpr double kMaxRefreshIntervalSeconds = 365.25 * SECS_PER_DAY;

// Seconds of an interval, as EXTRACT(EPOCH FROM interval) counts them.
long double IntervalSeconds(const Interval* interval) {
    return static_cast<long double>(interval->month / MONTHS_PER_YEAR) * 365.25L * SECS_PER_DAY +
           static_cast<long double>(interval->month % MONTHS_PER_YEAR) * DAYS_PER_MONTH * SECS_PER_DAY +
           static_cast<long double>(interval->day) * SECS_PER_DAY +
           static_cast<long double>(interval->time) / USECS_PER_SEC;
}

// Raises 22023 unless interval is a valid refresh interval: longer than zero,
// at most kMaxRefreshIntervalSeconds, and without a negative part (months,
// days and time each count forward).
void ValidateRefreshInterval(Datum interval) {
    const Interval* value = reinterpret_cast<const Interval*>(DatumGetPointer(interval));
    const long double seconds = IntervalSeconds(value);
    if (value->month >= 0 && value->day >= 0 && value->time >= 0 && seconds > 0 &&
        seconds <= kMaxRefreshIntervalSeconds)
        return;
    const char* shown = PgCall([&] { return DatumGetCString(DirectFunctionCall1(interval_out, interval)); });
    const std::string text = shown;
    throw core::Error(core::sqlstate::kInvalidParameterValue, "invalid refresh interval \"" + text + "\"",
                      "A refresh interval must be longer than zero and at most 1 year, with no negative part.",
                      "Give an interval such as '5 minutes', or NULL to refresh the IMMV whenever changes are "
                      "pending.");
}

}  // namespace

void SetRefreshIntervalOf(Oid immv, Datum interval) {
    ValidateRefreshInterval(interval);
    StoreRefreshInterval(immv, interval);
}

void ValidateDeferred(const core::ViewDefinition& view) {
    // (A view that reads no base relation has no batch to net.)
    if (view.shape != core::ViewShape::Bag || core::HasRowKey(view) || core::IsConstantView(view)) return;
    for (const auto& column : view.columns)
        if (!column.has_equality)
            throw core::NotSupported(
                "column \"" + column.name + "\" of type " + column.type_sql + " cannot be maintained in deferred mode",
                "A deferred batch is netted by row value, which needs a btree "
                "equality operator on every column.");
}

void BeginDeferred(Oid immv, const core::ViewDefinition& view) {
    ValidateDeferred(view);
    // The logs stay pg_ivmx's: refreshes read them as their owner and hand
    // the IMMV owner's statements only the batch (see deferred_refresh.cpp).
    for (Oid base : DistinctRelations(view)) RefuseOwnLoggedRows(EnsureDeltaLog(base, view));
    PgCall([] { CommandCounterIncrement(); });
    // The IMMV reflects every committed transaction and this one so far; this
    // transaction's rows logged from now on are pending.
    const uint64 own = PgCall([] {
        FullTransactionId fxid = GetTopFullTransactionIdIfAny();
        return FullTransactionIdIsValid(fxid) ? U64FromFullTransactionId(fxid) : uint64(0);
    });
    const auto seen = core::XidSnapshot::Parse(LatestSnapshotText());
    SetDeferredMode(immv, core::WithPending(*seen, own).ToText());
    for (Oid base : DistinctRelations(view)) InvalidatePlans(base);
    InvalidatePlans(immv);
}

void EndDeferred(Oid immv, const core::ViewDefinition& view) {
    const std::vector<Oid> bases = DistinctRelations(view);
    for (Oid base : bases) PgCall([&] { LockRelationOid(base, ExclusiveLock); });
    while (RefreshDeferred(immv, RefreshKind::Auto).more_pending) {
    }
    SetImmediateMode(immv);
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
        throw core::Error(core::sqlstate::kInvalidParameterValue, "invalid maintenance mode \"" + mode_name + "\"", {},
                          "Valid modes are \"immediate\" and \"deferred\".");
    // Rights first: a caller without them queues no lock. Checked again
    // once locked, in case the IMMV changed owners while we waited.
    RequireOwner(immv);
    // The mode lock first: writers holding it may still have to lock the
    // IMMV itself before they commit.
    LockImmvModeExclusive(immv);
    PgCall([&] { LockRelationOid(immv, ExclusiveLock); });
    RequireOwner(immv);
    SpiConnect();
    const ImmvRecord record = RequireImmv(immv);
    if (record.mode != *mode) {
        auto maintainer = LoadMaintainer(record);
        WithMaintenanceSettings([&] {
            if (*mode == MaintenanceMode::Deferred)
                BeginDeferred(immv, maintainer->definition());
            else
                EndDeferred(immv, maintainer->definition());
        });
    }
    SpiFinish();
}

// Takes no lock on the IMMV: the catalog row is updated (and row-locked)
// like any other, after the owner check.
void SetRefreshInterval(Oid immv, std::optional<Datum> interval) {
    RequireOwner(immv);
    if (interval) ValidateRefreshInterval(*interval);
    SpiConnect();
    const ImmvRecord record = RequireImmv(immv);
    // NULL is always accepted: it clears what a deferred past left behind.
    if (interval && record.mode != MaintenanceMode::Deferred)
        PgCall([&] {
            ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                            errmsg("IMMV \"%s\" is not maintained in deferred mode", get_rel_name(immv)),
                            errdetail("A refresh interval applies to deferred maintenance only."),
                            errhint("Switch the IMMV to deferred maintenance first with ivmx.set_mode().")));
        });
    StoreRefreshInterval(immv, interval);
    SpiFinish();
}

// Applies everything pending for one deferred IMMV; returns log rows consumed.
int64 FlushOne(Oid immv) {
    int64 consumed = 0;
    // (Only to those who may see the IMMV's state: an upstream IMMV brought
    // forward may be another role's.)
    if (MayMonitorImmv(immv)) WarnIfTriggersMissing(immv);
    // In REPEATABLE READ / SERIALIZABLE, the IMMV must not have been
    // refreshed by a transaction this transaction's snapshot cannot see.
    CheckConcurrentRefresh(RequireImmv(immv), ImmvState::LatestWrite);
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

// Whether the current user owns (or has the privileges of the owner of)
// relation relid; false if it was dropped meanwhile.
bool OwnsExisting(Oid relid) {
    return PgCall([&] {
        return SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)) && compat::OwnsRelation(relid, GetUserId());
    });
}

// ivmx.flush(): ivmx.flush(immv) for every deferred IMMV the caller owns,
// each after the deferred IMMVs it reads (which ivmx.flush(immv) brings
// forward too, whoever owns them): nothing that the caller could not do with
// ivmx.flush(immv) calls. Other roles' IMMVs are neither locked nor
// refreshed. Ownership is checked before anything is locked.
int64 FlushAll() {
    SpiConnect();
    // Upstream views first: order by each view's deferred upstream chain.
    std::vector<Oid> ordered;
    for (const ImmvSummary& listed : ListImmvs()) {
        const Oid immv = listed.relid;
        if (listed.mode != MaintenanceMode::Deferred || !listed.populated || !OwnsExisting(immv)) continue;
        for (Oid up : DeferredUpstream(immv))
            if (std::find(ordered.begin(), ordered.end(), up) == ordered.end()) ordered.push_back(up);
        if (std::find(ordered.begin(), ordered.end(), immv) == ordered.end()) ordered.push_back(immv);
    }
    int64 consumed = 0;
    for (Oid immv : ordered) consumed += FlushOne(immv);
    SpiFinish();
    return consumed;
}

}  // namespace

}  // namespace ivmx::pg

using namespace ivmx::pg;

Datum ivmx_set_mode(PG_FUNCTION_ARGS) {
    return EntryGuard([&] {
        ApplyPendingChanges();
        SetMode(PG_GETARG_OID(0), TextToString(PG_GETARG_DATUM(1)));
    });
}

Datum ivmx_set_refresh_interval(PG_FUNCTION_ARGS) {
    return EntryGuard([&] {
        if (PG_ARGISNULL(0))
            throw ivmx::core::Error(ivmx::core::sqlstate::kNullValueNotAllowed, "immv must not be null");
        SetRefreshInterval(PG_GETARG_OID(0), PG_ARGISNULL(1) ? std::nullopt : std::optional<Datum>(PG_GETARG_DATUM(1)));
    });
}

Datum ivmx_flush(PG_FUNCTION_ARGS) {
    return EntryGuard([&] {
        ApplyPendingChanges();
        return Int64GetDatum(Flush(PG_GETARG_OID(0)));
    });
}

Datum ivmx_flush_all(PG_FUNCTION_ARGS) {
    return EntryGuard([&] {
        ApplyPendingChanges();
        return Int64GetDatum(FlushAll());
    });
}
