// SQL-callable functions behind pg_ivmx's monitoring: ivmx.pending_changes,
// and the helpers of the views ivmx.immv_status and ivmx.immv_dependencies.
//
// The catalog tables show each role only the rows of the IMMVs it may
// monitor (row-level security, see MayMonitorImmv); the views are
// security_invoker, so they list those IMMVs only. What the views show about
// one of them may depend on rows the caller cannot see (the IMMVs upstream
// of it, the delta logs, which only the catalog's owner reads): these
// functions read them as the catalog owner, after checking that the caller
// may monitor the IMMV asked about. For any other IMMV they return nothing
// (rows 0, NULLs), as for a relation that is no IMMV: they do not even tell
// whether it is one.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "catalog.hpp"
#include "ddl.hpp"
#include "ivmx/core/sql_text.hpp"
#include "ivmx/pg/guards.hpp"
#include "pg_util.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(ivmx_pending_changes);
PG_FUNCTION_INFO_V1(ivmx_immv_state);
PG_FUNCTION_INFO_V1(ivmx_is_immv);
Datum ivmx_pending_changes(PG_FUNCTION_ARGS);
Datum ivmx_immv_state(PG_FUNCTION_ARGS);
Datum ivmx_is_immv(PG_FUNCTION_ARGS);
}

namespace ivmx::pg {

namespace {

struct Pending {
    int64 rows = 0;
    std::optional<TimestampTz> oldest;  // when the oldest pending row was logged
};

// The log rows deferred IMMV immv has not applied yet, in the current
// snapshot (none for an immediate IMMV). Reads the catalog and the logs as
// the catalog's owner: the caller's rights must have been checked. SPI
// connected.
Pending PendingOf(Oid immv) {
    Pending pending;
    const std::optional<ImmvRecord> record = LoadImmv(immv);
    if (!record || record->mode != MaintenanceMode::Deferred || record->applied.watermark.empty()) return pending;
    SqlArgs args;
    const std::string condition = PendingCondition(record->applied, args);
    const std::vector<Oid> logs = DeltaLogsReadBy(immv);
    AsCatalogOwner([&] {
        for (Oid log : logs) {
            const std::string sql = "SELECT count(*), min(__ivm_time) FROM " + core::QuoteQualified(RelationName(log)) +
                                    " WHERE " + condition;
            bool has_oldest = false;
            TimestampTz oldest = 0;
            const int64 rows = PgCall([&] {
                if (SpiExecuteWithArgs(sql.c_str(), args, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
                    elog(ERROR, "could not count the pending rows of delta log %u", log);
                bool isnull = false;
                const int64 count =
                    DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
                const Datum min = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
                has_oldest = !isnull;
                if (has_oldest) oldest = DatumGetTimestampTz(min);
                return count;
            });
            pending.rows += rows;
            if (has_oldest && (!pending.oldest || oldest < *pending.oldest)) pending.oldest = oldest;
        }
    });
    return pending;
}

// What ivmx._immv_state returns.
struct ImmvState {
    int depth = 1;
    std::vector<Oid> upstream;  // read directly
    bool upstream_failed = false;
    std::optional<TimestampTz> upstream_oldest;
    bool triggers_intact = true;
};

ImmvState StateOf(Oid immv) {
    ImmvState state;
    for (const UpstreamImmv& up : UpstreamImmvs(immv)) {
        state.depth = std::max(state.depth, 1 + up.levels);
        if (up.direct) state.upstream.push_back(up.immv);
        state.upstream_failed |= up.failing;
        const Pending pending = PendingOf(up.immv);
        if (pending.oldest && (!state.upstream_oldest || *pending.oldest < *state.upstream_oldest))
            state.upstream_oldest = pending.oldest;
    }
    state.triggers_intact = TriggersIntact(immv);
    return state;
}

// A composite result of the calling function from values and nulls.
Datum ResultRecord(FunctionCallInfo fcinfo, Datum* values, bool* nulls) {
    return PgCall([&] {
        TupleDesc desc = nullptr;
        if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
            elog(ERROR, "function returning a record called in a context that cannot accept it");
        desc = BlessTupleDesc(desc);
        return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
    });
}

Datum PendingChanges(FunctionCallInfo fcinfo) {
    const Oid immv = PG_GETARG_OID(0);
    Pending pending;
    if (MayMonitorImmv(immv)) {
        SpiConnect();
        pending = PendingOf(immv);
        SpiFinish();
    }
    Datum values[2] = {Int64GetDatum(pending.rows), TimestampTzGetDatum(pending.oldest.value_or(0))};
    bool nulls[2] = {false, !pending.oldest.has_value()};
    return ResultRecord(fcinfo, values, nulls);
}

Datum ImmvStateRecord(FunctionCallInfo fcinfo, bool* is_null) {
    const Oid immv = PG_GETARG_OID(0);
    *is_null = true;
    if (!MayMonitorImmv(immv)) return (Datum)0;
    SpiConnect();
    if (!ImmvExists(immv)) {
        SpiFinish();
        return (Datum)0;
    }
    const ImmvState state = StateOf(immv);
    SpiFinish();
    *is_null = false;
    const Datum upstream = PgCall([&] {
        Datum* items = static_cast<Datum*>(palloc(sizeof(Datum) * std::max<size_t>(state.upstream.size(), 1)));
        for (size_t i = 0; i < state.upstream.size(); ++i) items[i] = ObjectIdGetDatum(state.upstream[i]);
        return PointerGetDatum(construct_array(items, static_cast<int>(state.upstream.size()), REGCLASSOID, sizeof(Oid),
                                               true, TYPALIGN_INT));
    });
    Datum values[5] = {Int32GetDatum(state.depth), upstream, BoolGetDatum(state.upstream_failed),
                       TimestampTzGetDatum(state.upstream_oldest.value_or(0)), BoolGetDatum(state.triggers_intact)};
    bool nulls[5] = {false, false, false, !state.upstream_oldest.has_value(), false};
    return ResultRecord(fcinfo, values, nulls);
}

// Whether relid is an IMMV. Not secret: every IMMV carries pg_ivmx's guard
// trigger, which pg_trigger shows to everyone.
bool IsImmv(Oid relid) {
    SpiConnect();
    const bool found = ImmvExists(relid);
    SpiFinish();
    return found;
}

}  // namespace

}  // namespace ivmx::pg

using namespace ivmx::pg;

Datum ivmx_pending_changes(PG_FUNCTION_ARGS) {
    return EntryGuard([&] { return PendingChanges(fcinfo); });
}

Datum ivmx_immv_state(PG_FUNCTION_ARGS) {
    bool is_null = false;
    const Datum result = EntryGuard([&] { return ImmvStateRecord(fcinfo, &is_null); });
    if (is_null) PG_RETURN_NULL();
    return result;
}

Datum ivmx_is_immv(PG_FUNCTION_ARGS) {
    return EntryGuard([&] { return BoolGetDatum(IsImmv(PG_GETARG_OID(0))); });
}
