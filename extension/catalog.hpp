// pg_ivmx's catalog: the one module that reads and writes the rows of the
// extension's tables ivmx.immv, ivmx.immv_dependency, ivmx.refresh_history,
// ivmx.delta_log and ivmx.snapshot_mark (sql/pg_ivmx--*.sql). Other files use
// the named operations declared here instead of addressing catalog columns
// or writing catalog SQL of their own.
//
// Reads and updates go through SPI (an SPI connection must be open) with
// bound parameters (extension/spi_query.hpp); the rows of a new IMMV and
// its populated flag are written with direct heap access, so that an IMMV's
// owner can create, refresh and drop it without holding privileges on the
// catalog tables.
// Values read from the catalog that later statements use (watermarks,
// snapshot marks) are bound to those statements too (SqlArgs), never
// spliced into their text.
//
// Row-level security shows a session only the catalog rows of the IMMVs it
// may monitor (see MayMonitorImmv); the extension's own reads must see every
// row, whoever's session they run in (a writer maintaining another role's
// IMMV, a flush of an IMMV whose upstream belongs to someone else): they run
// through AsCatalogOwner. The operations declared here do so themselves,
// except ImmvsCallerMaySee.
#pragma once

#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "ivmx/core/dependency_graph.hpp"
#include "ivmx/pg/guards.hpp"
#include "ivmx/pg/postgres.hpp"
#include "spi_query.hpp"

namespace ivmx::pg {

namespace detail {
// What AsCatalogOwner restores.
struct CatalogOwnerFrame {
    Oid saved_user;
    int saved_context;
    int guc_nest_level;  // -1: search_path was already the safe one
};
CatalogOwnerFrame EnterCatalogOwner();
void LeaveCatalogOwner(const CatalogOwnerFrame& frame);
}  // namespace detail

// Runs f as the owner of pg_ivmx's catalog (who is not subject to its
// row-level security, so that f's catalog queries see every row) inside a
// security-restricted operation, with search_path = pg_catalog, pg_temp (no
// operator or function of the caller's schemas can be picked up by a query
// running with the catalog owner's rights). The caller's role and
// search_path are restored when f returns, and also when it throws. For
// reads (and writes) of pg_ivmx's own tables only: never run user-defined
// SQL (an IMMV's query) in f.
template <typename F>
auto AsCatalogOwner(F&& f) -> decltype(f()) {
    const detail::CatalogOwnerFrame frame = detail::EnterCatalogOwner();
    try {
        if constexpr (std::is_void_v<decltype(f())>) {
            f();
            detail::LeaveCatalogOwner(frame);
        } else {
            auto result = f();
            detail::LeaveCatalogOwner(frame);
            return result;
        }
    } catch (...) {
        detail::LeaveCatalogOwner(frame);
        throw;
    }
}

// --- IMMV rows ---------------------------------------------------------------

// Whether the current user may see the catalog rows, status and pending
// changes of IMMV immv: its owner and the roles having its privileges
// (pg_has_role(owner, 'USAGE')), members of pg_monitor, superusers and the
// catalog's owner: the rows the row-level security policies of the catalog
// tables (sql/pg_ivmx--*.sql) show. False if immv does not exist.
bool MayMonitorImmv(Oid immv);

enum class MaintenanceMode { Immediate, Deferred };

// The OID of pg_ivmx's relation ivmx.<name> (a catalog table, the log
// sequence); an error if it is missing. Raises PostgreSQL errors: call
// inside PgCall.
Oid CatalogRelid(const char* name);

std::string ModeName(MaintenanceMode mode);
std::optional<MaintenanceMode> ModeByName(const std::string& name);

// What of the delta logs a deferred IMMV has applied: the writer
// transactions its watermark shows committed, and, when a flush inside a
// writing transaction applied that transaction's rows so far, the rows of
// partial_xid up to partial_seq.
struct AppliedChanges {
    std::string watermark;   // pg_snapshot text; empty: NULL (not deferred)
    uint64 partial_xid = 0;  // 0: NULL
    int64 partial_seq = 0;
};

struct ImmvRecord {
    Oid relid = InvalidOid;
    std::string query_tree;  // nodeToString of the analysed defining query
    MaintenanceMode mode = MaintenanceMode::Immediate;
    bool populated = true;
    AppliedChanges applied;                         // deferred IMMVs only
    uint64 populated_xid = 0;                       // transaction that last recomputed the IMMV
    TransactionId row_xmin = InvalidTransactionId;  // last writer of this catalog row (a refresh)
};

// The catalog row of an IMMV, as the latest snapshot shows it, or nullopt
// if relid is not an IMMV.
std::optional<ImmvRecord> LoadImmv(Oid relid);

// Looks up an IMMV given by a regclass argument; raises a PostgreSQL-style
// error (wrong_object_type) if the relation is not an IMMV.
ImmvRecord RequireImmv(Oid relid);

// Whether relid is an IMMV (a light LoadImmv).
bool ImmvExists(Oid relid);

// The analysed defining query of an IMMV, in the current memory context.
Query* ImmvQuery(const ImmvRecord& record);

// Which snapshot a listing of IMMVs reads the catalog in.
enum class CatalogSnapshot {
    Statement,  // the current statement's (this transaction's, in REPEATABLE READ)
    Latest,     // the latest: also what transactions committed since then wrote
};

struct ImmvSummary {
    Oid relid;
    MaintenanceMode mode;
    bool populated;
};

// Every IMMV of the database, whoever owns it, in OID order.
std::vector<ImmvSummary> ListImmvs(CatalogSnapshot snapshot = CatalogSnapshot::Statement);

// The IMMVs the current user may see (the catalog's row-level security), in
// OID order.
std::vector<Oid> ImmvsCallerMaySee();

// A deferred IMMV as the scheduler sees it (ivmx.immv: next_attempt after
// failures, last_refresh + refresh_interval).
struct ScheduledImmv {
    Oid relid;
    bool due;                      // may be refreshed now
    std::optional<int64> wait_ms;  // else: due in this many ms (nullopt: in a day or more, or never)
    bool failing;                  // its last refresh failed
};

// The populated deferred IMMVs and when each is due, in the current
// snapshot. Due-ness is computed in seconds since the epoch, as numeric: the
// arithmetic cannot overflow whatever a catalog row holds (a refresh
// interval of millions of years added to a timestamp would raise "timestamp
// out of range" and fail every round, for every IMMV). A month counts 30
// days and a year 365.25 days, as in EXTRACT(EPOCH FROM interval).
std::vector<ScheduledImmv> DeferredSchedule();

// One IMMV upstream of another: read by it directly or through other IMMVs.
struct UpstreamImmv {
    Oid immv;
    int levels;  // the longest chain of reads from the downstream IMMV to it
    bool direct;
    bool failing;
};

// The IMMVs immv reads, directly or transitively, whoever owns them, in OID
// order.
std::vector<UpstreamImmv> UpstreamImmvs(Oid immv);

// What every populated deferred IMMV reading relation relid has applied of
// its log, as `snapshot` shows the catalog.
std::vector<AppliedChanges> DeferredConsumersOf(Oid relid, Snapshot snapshot);

// The delta logs of the relations IMMV immv reads, in OID order.
std::vector<Oid> DeltaLogsReadBy(Oid immv);

// Registers a new IMMV and the relations it reads.
void InsertImmv(const ImmvRecord& record, const std::vector<Oid>& base_relids);

// Marks an IMMV populated or not (refresh_immv with_data), recomputed by
// the current transaction.
void SetImmvPopulated(Oid relid, bool populated);

// Stores the minimum time between refreshes of a deferred IMMV (an
// interval Datum, validated by the caller), or NULL.
void StoreRefreshInterval(Oid immv, std::optional<Datum> interval);

// Records that an IMMV is maintained in deferred mode from now on, having
// applied the transactions `watermark` shows committed; clears the failures
// of an earlier deferred period.
void SetDeferredMode(Oid immv, const std::string& watermark);

// Records that an IMMV is maintained in immediate mode again, recomputed
// (brought up to date) by the current transaction.
void SetImmediateMode(Oid immv);

// A refresh of a deferred IMMV that succeeded.
struct RefreshRecord {
    AppliedChanges applied;  // the IMMV's new position in the logs
    TimestampTz started;
    int64 rows_consumed;
    int64 rows_changed;
    bool full;  // a recompute
};

// Records a successful refresh: the new watermark, its time and duration
// (until now), a row of ivmx.refresh_history (keeping the newest
// ivmx.history_limit rows of the IMMV); clears the failures.
void RecordRefresh(Oid immv, const RefreshRecord& refresh);

// Records a failed refresh: one more consecutive failure, the error, the
// next attempt after the retry delay (core::RetryDelayMs after ivmx.naptime,
// capped by ivmx.max_retry_interval), a row of ivmx.refresh_history.
// Returns the retry delay in ms, or nullopt when the IMMV has no catalog row
// (it was dropped meanwhile: a refresh racing DROP is no failure of a view).
std::optional<int64> RecordRefreshFailure(Oid immv, const std::string& error);

// Counts a scheduled refresh that took ivmx.refresh_warn_time or longer
// (slow_refreshes, last_slow_refresh, last_slow_duration).
void RecordSlowRefresh(Oid immv, TimestampTz started, int64 elapsed_ms);

// Forgets the catalog rows of dropped relations: the IMMVs among them, their
// dependencies and history, and every dependency on a dropped relation.
// Returns the relations those dependencies pointed at (with repeats).
std::vector<Oid> ForgetCatalogRows(const std::vector<Oid>& dropped);

// Records that relation relid's changes are logged to delta log logrelid
// (ivmx.delta_log), and forgets it again.
void RegisterDeltaLog(Oid relid, Oid logrelid);
void UnregisterDeltaLog(Oid relid);

// The delta log relation relid's changes are logged to, if any (this
// transaction's own registrations included).
std::optional<Oid> DeltaLogOf(Oid relid);

// --- snapshot marks ----------------------------------------------------------

// Remembers the snapshot a scheduler round runs in (ivmx.snapshot_mark), a
// place where a later batch can end, unless the newest mark is the same;
// now and then deletes marks older than 15 minutes or beyond the newest 256.
void RememberSnapshotMark(Snapshot snapshot);

// The snapshot marks, oldest first, as the latest snapshot sees them
// (pg_snapshot text).
std::vector<std::string> SnapshotMarks();

// --- conditions on delta log rows --------------------------------------------

// SQL condition on the rows of a delta log (__ivm_xid, __ivm_seq): not
// applied yet by an IMMV that applied `applied`, with its values bound in
// args. A NULL watermark makes the condition NULL for rows not applied in
// part (write "(...) IS NOT TRUE" for "applied").
std::string PendingCondition(const AppliedChanges& applied, SqlArgs& args);

// --- the serialization check -------------------------------------------------

// What of an IMMV's catalog state a transaction's snapshot must show for the
// transaction to build on the IMMV's contents as that snapshot shows them.
enum class ImmvState {
    // Its last recompute (populated_xid): a writer maintaining the IMMV on
    // top of contents it cannot see would make them wrong.
    Recompute,
    // The latest write of its catalog row (row_xmin): a flush would find
    // nothing left to do, yet the transaction would keep reading the IMMV as
    // it was before the refresh that wrote the row.
    LatestWrite,
    // Its watermark: a refresh building on the latest watermark would
    // leave the IMMV short, in this snapshot, of what the refresh that moved
    // it applied.
    Watermark,
};

// pg_ivmx's serialization check. In REPEATABLE READ or SERIALIZABLE,
// raises a serialization failure (40001) when a transaction that committed
// after this transaction's snapshot was taken changed `state` of the IMMV
// (record: its catalog row as LoadImmv read it). Nothing in READ COMMITTED.
void CheckConcurrentRefresh(const ImmvRecord& record, ImmvState state);

// CheckConcurrentRefresh for the IMMV's last recompute (what writers check).
inline void CheckRecomputeVisible(const ImmvRecord& record) {
    CheckConcurrentRefresh(record, ImmvState::Recompute);
}

// --- dependencies ------------------------------------------------------------

// The dependency graph of the database's IMMVs (edges IMMV -> relation it
// reads), in one catalog query that sees this transaction's own changes.
// An IMMV that reads no relation has no edge: it is a vertex only if listed
// in `vertices` (those that must list every IMMV name them; maintenance
// never meets such an IMMV, which never changes).
core::DependencyGraph LoadDependencyGraph(const std::vector<Oid>& vertices = {});

// IMMVs that read relation relid, whoever owns them, in OID order, as the
// latest snapshot shows the catalog or (CatalogSnapshot::Statement) as the
// current statement sees it.
std::vector<Oid> ImmvsReading(Oid relid, CatalogSnapshot snapshot = CatalogSnapshot::Latest);

// The deferred IMMVs that read relation relid, whoever owns them, in OID
// order (this transaction's own changes included).
std::vector<Oid> DeferredImmvsReading(Oid relid);

// The IMMVs whose definitions read column attnum of relation relid (their
// dependencies recorded in pg_depend), whoever owns them, in OID order, in
// the active snapshot.
std::vector<Oid> ImmvsReadingColumn(Oid relid, AttrNumber attnum);

// The relations IMMV immv reads (base tables and IMMVs), in OID order.
std::vector<Oid> ImmvInputs(Oid immv);

}  // namespace ivmx::pg
