// pg_ivmx's catalog (see extension/catalog.hpp).
#include "catalog.hpp"

#include <algorithm>
#include <cctype>

#include "ivmx/core/deferred_sql.hpp"
#include "ivmx/core/retry_backoff.hpp"
#include "ivmx/pg/guards.hpp"
#include "pg_util.hpp"
#include "settings.hpp"

namespace ivmx::pg {

Oid CatalogRelid(const char* name) {
    Oid nsp = get_namespace_oid("ivmx", false);
    Oid relid = get_relname_relid(name, nsp);
    if (!OidIsValid(relid))
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("pg_ivmx relation ivmx.%s is missing", name)));
    return relid;
}

namespace {

// The columns of ivmx.immv by attribute number, in the order of the table's
// definition (sql/pg_ivmx--*.sql): a new column goes at the end, here too.
namespace immv_col {
constexpr AttrNumber kRelid = 1;
constexpr AttrNumber kQueryTree = 2;
constexpr AttrNumber kMode = 3;
constexpr AttrNumber kPopulated = 4;
constexpr AttrNumber kPopulatedXid = 5;
constexpr AttrNumber kRefreshInterval = 6;
constexpr AttrNumber kWatermark = 7;
constexpr AttrNumber kPartialXid = 8;
constexpr AttrNumber kPartialSeq = 9;
constexpr AttrNumber kLastRefresh = 10;
constexpr AttrNumber kLastDuration = 11;
constexpr AttrNumber kRefreshCount = 12;
constexpr AttrNumber kFailures = 13;
constexpr AttrNumber kLastError = 14;
constexpr AttrNumber kNextAttempt = 15;
constexpr AttrNumber kSlowRefreshes = 16;
constexpr AttrNumber kLastSlowRefresh = 17;
constexpr AttrNumber kLastSlowDuration = 18;
constexpr int kCount = 18;
// Their names, by attribute number - 1.
constexpr const char* kNames[kCount] = {
    "immvrelid", "querytree",   "mode",         "populated",      "populated_xid",     "refresh_interval",
    "watermark", "partial_xid", "partial_seq",  "last_refresh",   "last_duration",     "refresh_count",
    "failures",  "last_error",  "next_attempt", "slow_refreshes", "last_slow_refresh", "last_slow_duration"};
}  // namespace immv_col

// The columns of ivmx.immv_dependency.
namespace dependency_col {
constexpr AttrNumber kImmvRelid = 1;
constexpr AttrNumber kRelid = 2;
constexpr int kCount = 2;
constexpr const char* kNames[kCount] = {"immvrelid", "relid"};
}  // namespace dependency_col

// The names of columns, for reading them from a query's result.
constexpr const char* ImmvColumn(AttrNumber attnum) {
    return immv_col::kNames[attnum - 1];
}
constexpr const char* DependencyColumn(AttrNumber attnum) {
    return dependency_col::kNames[attnum - 1];
}

// Raises an error unless the table has exactly the columns the module
// forms its rows with (an installation whose catalog does not match this
// library). PostgreSQL code.
void CheckColumns(Relation rel, const char* const* names, int count) {
    const TupleDesc desc = RelationGetDescr(rel);
    bool same = desc->natts == count;
    for (int i = 0; same && i < count; ++i)
        same = !TupleDescAttr(desc, i)->attisdropped && strcmp(NameStr(TupleDescAttr(desc, i)->attname), names[i]) == 0;
    if (!same)
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("pg_ivmx catalog table ivmx.%s does not have the columns this library expects",
                               RelationGetRelationName(rel)),
                        errhint("Install the extension's SQL script that matches the installed library.")));
}

// A row of a catalog table, formed or changed column by column (PostgreSQL
// data only). Columns not set are NULL (formed) or unchanged (changed).
template <int kCount>
struct CatalogRow {
    Datum values[kCount] = {};
    bool nulls[kCount];
    bool replace[kCount] = {};
    CatalogRow() {
        for (bool& n : nulls) n = true;
    }
    void Set(AttrNumber attnum, Datum value) {
        values[attnum - 1] = value;
        nulls[attnum - 1] = false;
        replace[attnum - 1] = true;
    }
};

// Inserts a row into a catalog table. PostgreSQL code.
template <int kCount>
void InsertRow(const char* table, const char* const* names, CatalogRow<kCount>& row) {
    Relation rel = table_open(CatalogRelid(table), RowExclusiveLock);
    CheckColumns(rel, names, kCount);
    HeapTuple tuple = heap_form_tuple(RelationGetDescr(rel), row.values, row.nulls);
    CatalogTupleInsert(rel, tuple);
    heap_freetuple(tuple);
    table_close(rel, RowExclusiveLock);
}

// Runs a statement changing the catalog; raises an error unless SPI returns
// `expected`. Returns the rows processed.
uint64 ChangeCatalog(const char* sql, const SqlArgs& args, int expected) {
    return PgCall([&] {
        const int rc = SpiExecuteWithArgs(sql, args, false, 0);
        if (rc != expected) elog(ERROR, "could not update the pg_ivmx catalog: %s", SPI_result_code_string(rc));
        return SPI_processed;
    });
}

}  // namespace

// --- modes and rights ---

std::string ModeName(MaintenanceMode mode) {
    return mode == MaintenanceMode::Deferred ? "deferred" : "immediate";
}

std::optional<MaintenanceMode> ModeByName(const std::string& name) {
    // Case-insensitive, like the values of enum configuration parameters.
    std::string lower;
    for (char c : name) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    if (lower == "immediate") return MaintenanceMode::Immediate;
    if (lower == "deferred") return MaintenanceMode::Deferred;
    return std::nullopt;
}

namespace detail {

CatalogOwnerFrame EnterCatalogOwner() {
    const Oid owner = CatalogOwner();
    return PgCall([&] {
        CatalogOwnerFrame frame{InvalidOid, 0, -1};
        GetUserIdAndSecContext(&frame.saved_user, &frame.saved_context);
        if (namespace_search_path == nullptr || strcmp(namespace_search_path, kSafeSearchPath) != 0) {
            frame.guc_nest_level = NewGUCNestLevel();
            set_config_option("search_path", kSafeSearchPath, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
                              false);
        }
        SetUserIdAndSecContext(owner,
                               frame.saved_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
        return frame;
    });
}

void LeaveCatalogOwner(const CatalogOwnerFrame& frame) {
    PgCall([&] {
        SetUserIdAndSecContext(frame.saved_user, frame.saved_context);
        if (frame.guc_nest_level >= 0) AtEOXact_GUC(true, frame.guc_nest_level);
    });
}

}  // namespace detail

bool MayMonitorImmv(Oid immv) {
    const Oid catalog_owner = CatalogOwner();
    return PgCall([&] {
        HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(immv));
        if (!HeapTupleIsValid(tuple)) return false;
        const Oid owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
        ReleaseSysCache(tuple);
        const Oid user = GetUserId();
        // The catalog's owner bypasses row-level security on its tables.
        return user == catalog_owner || has_privs_of_role(user, owner) ||
               has_privs_of_role(user, get_role_oid("pg_monitor", false));
    });
}

// --- reading IMMV rows ---

namespace {

// What of a delta log an IMMV applied, as PostgreSQL data.
struct AppliedRow {
    char* watermark;  // nullptr: NULL
    uint64 partial_xid;
    int64 partial_seq;
};

// The watermark, partial_xid and partial_seq columns of SPI's result.
AppliedRow ReadAppliedRow(uint64 row) {
    AppliedRow applied{ResultText(row, ImmvColumn(immv_col::kWatermark)), 0, 0};
    bool isnull = false;
    const Datum xid = ResultValue(row, ImmvColumn(immv_col::kPartialXid), &isnull);
    if (!isnull) applied.partial_xid = U64FromFullTransactionId(DatumGetFullTransactionId(xid));
    const Datum seq = ResultValue(row, ImmvColumn(immv_col::kPartialSeq), &isnull);
    if (!isnull) applied.partial_seq = DatumGetInt64(seq);
    return applied;
}

AppliedChanges ToApplied(const AppliedRow& row) {
    AppliedChanges applied;
    if (row.watermark != nullptr) applied.watermark = row.watermark;
    applied.partial_xid = row.partial_xid;
    applied.partial_seq = row.partial_seq;
    return applied;
}

constexpr const char* kAppliedColumns = "watermark::pg_catalog.text AS watermark, partial_xid, partial_seq";

// The columns of an ivmx.immv row LoadImmv reads, as PostgreSQL data.
struct ImmvRow {
    char* query_tree;
    char* mode;
    bool populated;
    AppliedRow applied;
    uint64 populated_xid;  // 0: NULL
    TransactionId row_xmin;
};

}  // namespace

std::optional<ImmvRecord> LoadImmv(Oid relid) {
    // The latest snapshot, so that IMMVs created by transactions committed
    // after ours started are seen (their capture triggers are, through the
    // catalog snapshot).
    const std::string sql = std::string("SELECT querytree, mode, populated, ") + kAppliedColumns +
                            ", populated_xid, xmin FROM ivmx.immv WHERE immvrelid = $1";
    const std::vector<ImmvRow> rows = AsCatalogOwner([&] {
        return QueryRows<ImmvRow>(sql.c_str(), OidArg(relid), ReadIn::Latest, [](uint64 i) {
            ImmvRow row{};
            row.query_tree = ResultText(i, ImmvColumn(immv_col::kQueryTree));
            row.mode = ResultText(i, ImmvColumn(immv_col::kMode));
            row.populated = ResultBool(i, ImmvColumn(immv_col::kPopulated));
            row.applied = ReadAppliedRow(i);
            bool isnull = false;
            const Datum xid = ResultValue(i, ImmvColumn(immv_col::kPopulatedXid), &isnull);
            if (!isnull) row.populated_xid = U64FromFullTransactionId(DatumGetFullTransactionId(xid));
            row.row_xmin = DatumGetTransactionId(ResultValue(i, "xmin", &isnull));
            return row;
        });
    });
    if (rows.empty()) return std::nullopt;
    const ImmvRow& row = rows.front();
    ImmvRecord record;
    record.relid = relid;
    record.query_tree = row.query_tree;
    record.mode = ModeByName(row.mode).value_or(MaintenanceMode::Immediate);
    record.populated = row.populated;
    record.applied = ToApplied(row.applied);
    record.populated_xid = row.populated_xid;
    record.row_xmin = row.row_xmin;
    return record;
}

ImmvRecord RequireImmv(Oid relid) {
    auto record = LoadImmv(relid);
    if (!record)
        PgCall([&] {
            ereport(ERROR,
                    (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                     errmsg("\"%s\" is not an incrementally maintainable materialized view", get_rel_name(relid)),
                     errhint("Create one with ivmx.create_immv().")));
        });
    return *record;
}

bool ImmvExists(Oid relid) {
    return AsCatalogOwner([&] {
        return !QueryOids(
                    "SELECT immvrelid::pg_catalog.oid AS immvrelid FROM ivmx.immv WHERE immvrelid "
                    "= $1",
                    ImmvColumn(immv_col::kRelid), OidArg(relid), ReadIn::Statement)
                    .empty();
    });
}

Query* ImmvQuery(const ImmvRecord& record) {
    return PgCall([&] { return castNode(Query, stringToNode(record.query_tree.c_str())); });
}

std::vector<ImmvSummary> ListImmvs(CatalogSnapshot snapshot) {
    struct Row {
        Oid relid;
        bool deferred;
        bool populated;
    };
    const std::vector<Row> rows = AsCatalogOwner([&] {
        return QueryRows<Row>(
            "SELECT immvrelid::pg_catalog.oid AS immvrelid, mode = 'deferred' AS deferred, "
            "populated "
            "FROM ivmx.immv ORDER BY 1",
            SqlArgs(), snapshot == CatalogSnapshot::Latest ? ReadIn::Latest : ReadIn::Statement, [](uint64 i) {
                return Row{ResultOid(i, ImmvColumn(immv_col::kRelid)), ResultBool(i, "deferred"),
                           ResultBool(i, ImmvColumn(immv_col::kPopulated))};
            });
    });
    std::vector<ImmvSummary> immvs;
    for (const Row& row : rows)
        immvs.push_back(
            {row.relid, row.deferred ? MaintenanceMode::Deferred : MaintenanceMode::Immediate, row.populated});
    return immvs;
}

std::vector<Oid> ImmvsCallerMaySee() {
    // Not as the catalog's owner: row-level security filters the rows.
    return QueryOids("SELECT immvrelid::pg_catalog.oid AS immvrelid FROM ivmx.immv ORDER BY 1",
                     ImmvColumn(immv_col::kRelid), SqlArgs(), ReadIn::Statement);
}

std::vector<ScheduledImmv> DeferredSchedule() {
    struct Row {
        Oid relid;
        bool due;
        bool waits;
        int64 wait_ms;
        bool failing;
    };
    const std::vector<Row> rows = AsCatalogOwner([] {
        return QueryRows<Row>(
            "SELECT immvrelid::pg_catalog.oid AS immvrelid, wait_s <= 0 AS due, "
            "CASE WHEN wait_s > 0 AND wait_s < 86400 THEN ceil(wait_s * 1000)::bigint END AS "
            "wait_ms, "
            "failures > 0 AS failing "
            "FROM (SELECT immvrelid, failures, "
            "      GREATEST(COALESCE(EXTRACT(EPOCH FROM next_attempt), '-Infinity'), "
            "               COALESCE(EXTRACT(EPOCH FROM last_refresh) + EXTRACT(EPOCH FROM "
            "refresh_interval), "
            "                        '-Infinity')) - EXTRACT(EPOCH FROM now()) AS wait_s "
            "      FROM ivmx.immv WHERE mode = 'deferred' AND populated) AS v",
            SqlArgs(), ReadIn::StatementReadOnly, [](uint64 i) {
                Row row{ResultOid(i, ImmvColumn(immv_col::kRelid)), ResultBool(i, "due"), false, 0,
                        ResultBool(i, "failing")};
                bool isnull = false;
                const Datum wait = ResultValue(i, "wait_ms", &isnull);
                row.waits = !isnull;
                if (!isnull) row.wait_ms = DatumGetInt64(wait);
                return row;
            });
    });
    std::vector<ScheduledImmv> schedule;
    for (const Row& row : rows)
        schedule.push_back(
            {row.relid, row.due, row.waits ? std::optional<int64>(row.wait_ms) : std::nullopt, row.failing});
    return schedule;
}

std::vector<UpstreamImmv> UpstreamImmvs(Oid immv) {
    return AsCatalogOwner([&] {
        return QueryRows<UpstreamImmv>(
            "WITH RECURSIVE up(id, levels) AS ("
            " SELECT d.relid, 1 FROM ivmx.immv_dependency d JOIN ivmx.immv u ON u.immvrelid = "
            "d.relid"
            "  WHERE d.immvrelid = $1"
            " UNION"
            " SELECT d.relid, up.levels + 1 FROM up"
            "  JOIN ivmx.immv_dependency d ON d.immvrelid = up.id"
            "  JOIN ivmx.immv u ON u.immvrelid = d.relid)"
            "SELECT up.id::pg_catalog.oid AS immv, max(up.levels) AS levels, min(up.levels) = 1 AS "
            "direct, "
            "       bool_or(u.failures > 0) AS failing"
            "  FROM up JOIN ivmx.immv u ON u.immvrelid = up.id GROUP BY up.id ORDER BY 1",
            OidArg(immv), ReadIn::StatementReadOnly, [](uint64 i) {
                bool isnull = false;
                return UpstreamImmv{ResultOid(i, "immv"), DatumGetInt32(ResultValue(i, "levels", &isnull)),
                                    ResultBool(i, "direct"), ResultBool(i, "failing")};
            });
    });
}

std::vector<AppliedChanges> DeferredConsumersOf(Oid relid, Snapshot snapshot) {
    const std::string sql = std::string("SELECT ") + kAppliedColumns +
                            " FROM ivmx.immv i JOIN ivmx.immv_dependency d USING (immvrelid) "
                            "WHERE d.relid = $1 AND i.mode = 'deferred' AND i.populated";
    const std::vector<AppliedRow> rows = AsCatalogOwner(
        [&] { return QueryRows<AppliedRow>(sql.c_str(), OidArg(relid), ReadIn::Given, ReadAppliedRow, snapshot); });
    std::vector<AppliedChanges> consumers;
    for (const AppliedRow& row : rows) consumers.push_back(ToApplied(row));
    return consumers;
}

std::vector<Oid> DeltaLogsReadBy(Oid immv) {
    return AsCatalogOwner([&] {
        return QueryOids(
            "SELECT l.logrelid::pg_catalog.oid AS logrelid FROM ivmx.immv_dependency d "
            "JOIN ivmx.delta_log l ON l.relid = d.relid WHERE d.immvrelid = $1 ORDER BY 1",
            "logrelid", OidArg(immv), ReadIn::Statement);
    });
}

// --- writing IMMV rows ---

void InsertImmv(const ImmvRecord& record, const std::vector<Oid>& base_relids) {
    PgCall([&] {
        CatalogRow<immv_col::kCount> row;
        row.Set(immv_col::kRelid, ObjectIdGetDatum(record.relid));
        row.Set(immv_col::kQueryTree, CStringGetTextDatum(record.query_tree.c_str()));
        row.Set(immv_col::kMode,
                CStringGetTextDatum(record.mode == MaintenanceMode::Deferred ? "deferred" : "immediate"));
        row.Set(immv_col::kPopulated, BoolGetDatum(record.populated));
        row.Set(immv_col::kPopulatedXid, FullTransactionIdGetDatum(GetTopFullTransactionId()));
        row.Set(immv_col::kRefreshCount, Int64GetDatum(0));
        row.Set(immv_col::kFailures, Int32GetDatum(0));
        row.Set(immv_col::kSlowRefreshes, Int64GetDatum(0));
        InsertRow("immv", immv_col::kNames, row);
        for (Oid base : base_relids) {
            CatalogRow<dependency_col::kCount> dependency;
            dependency.Set(dependency_col::kImmvRelid, ObjectIdGetDatum(record.relid));
            dependency.Set(dependency_col::kRelid, ObjectIdGetDatum(base));
            InsertRow("immv_dependency", dependency_col::kNames, dependency);
        }
        CommandCounterIncrement();
    });
}

void SetImmvPopulated(Oid relid, bool populated) {
    PgCall([&] {
        Relation rel = table_open(CatalogRelid("immv"), RowExclusiveLock);
        CheckColumns(rel, immv_col::kNames, immv_col::kCount);
        ScanKeyData key;
        ScanKeyInit(&key, immv_col::kRelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
        SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 1, &key);
        HeapTuple tuple = systable_getnext(scan);
        if (HeapTupleIsValid(tuple)) {
            CatalogRow<immv_col::kCount> row;
            row.Set(immv_col::kPopulated, BoolGetDatum(populated));
            row.Set(immv_col::kPopulatedXid, FullTransactionIdGetDatum(GetTopFullTransactionId()));
            HeapTuple updated = heap_modify_tuple(tuple, RelationGetDescr(rel), row.values, row.nulls, row.replace);
            CatalogTupleUpdate(rel, &updated->t_self, updated);
            heap_freetuple(updated);
        }
        systable_endscan(scan);
        table_close(rel, RowExclusiveLock);
        CommandCounterIncrement();
    });
}

void StoreRefreshInterval(Oid immv, std::optional<Datum> interval) {
    AsCatalogOwner([&] {
        PgCall([&] {
            Oid argtypes[2] = {INTERVALOID, OIDOID};
            Datum args[2] = {interval.value_or((Datum)0), ObjectIdGetDatum(immv)};
            const char nulls[2] = {interval ? ' ' : 'n', ' '};
            const int rc = SPI_execute_with_args("UPDATE ivmx.immv SET refresh_interval = $1 WHERE immvrelid = $2", 2,
                                                 argtypes, args, nulls, false, 0);
            if (rc != SPI_OK_UPDATE) elog(ERROR, "could not update ivmx.immv");
        });
    });
}

void SetDeferredMode(Oid immv, const std::string& watermark) {
    SqlArgs args;
    args.AddOid(immv);
    args.AddPgSnapshot(watermark);
    AsCatalogOwner([&] {
        ChangeCatalog(
            "UPDATE ivmx.immv SET mode = 'deferred', watermark = $2, partial_xid = NULL, "
            "partial_seq = NULL, "
            "failures = 0, last_error = NULL, next_attempt = NULL WHERE immvrelid = $1",
            args, SPI_OK_UPDATE);
    });
}

void SetImmediateMode(Oid immv) {
    AsCatalogOwner([&] {
        ChangeCatalog(
            "UPDATE ivmx.immv SET mode = 'immediate', watermark = NULL, partial_xid = NULL, "
            "partial_seq = NULL, "
            "failures = 0, last_error = NULL, next_attempt = NULL, populated_xid = "
            "pg_current_xact_id() "
            "WHERE immvrelid = $1",
            OidArg(immv), SPI_OK_UPDATE);
    });
}

void RecordRefresh(Oid immv, const RefreshRecord& refresh) {
    SqlArgs position;
    position.AddOid(immv);
    position.AddTimestamp(refresh.started);
    if (refresh.applied.watermark.empty())
        position.AddNull(PG_SNAPSHOTOID);
    else
        position.AddPgSnapshot(refresh.applied.watermark);
    if (refresh.applied.partial_xid != 0) {
        position.AddXid8(refresh.applied.partial_xid);
        position.AddInt64(refresh.applied.partial_seq);
    } else {
        position.AddNull(XID8OID);
        position.AddNull(INT8OID);
    }
    SqlArgs history;
    history.AddOid(immv);
    history.AddTimestamp(refresh.started);
    history.AddInt64(refresh.rows_consumed);
    history.AddInt64(refresh.rows_changed);
    history.AddText(refresh.full ? "full" : "incremental");
    SqlArgs bound;
    bound.AddOid(immv);
    bound.AddInt64(HistoryLimit());
    AsCatalogOwner([&] {
        ChangeCatalog(
            "UPDATE ivmx.immv SET watermark = $3, partial_xid = $4, partial_seq = $5, last_refresh "
            "= $2, "
            "last_duration = clock_timestamp() - $2, refresh_count = refresh_count + 1, failures = "
            "0, "
            "last_error = NULL, next_attempt = NULL WHERE immvrelid = $1",
            position, SPI_OK_UPDATE);
        ChangeCatalog(
            "INSERT INTO ivmx.refresh_history (immvrelid, started_at, duration, rows_consumed, "
            "rows_changed, kind) "
            "VALUES ($1, $2, clock_timestamp() - $2, $3, $4, $5)",
            history, SPI_OK_INSERT);
        ChangeCatalog(
            "DELETE FROM ivmx.refresh_history WHERE immvrelid = $1 AND id <= (SELECT id FROM "
            "ivmx.refresh_history "
            "WHERE immvrelid = $1 ORDER BY id DESC OFFSET $2 LIMIT 1)",
            bound, SPI_OK_DELETE);
    });
}

std::optional<int64> RecordRefreshFailure(Oid immv, const std::string& error) {
    return AsCatalogOwner([&]() -> std::optional<int64> {
        const std::vector<int> failures = QueryRows<int>(
            "SELECT failures FROM ivmx.immv WHERE immvrelid = $1", OidArg(immv), ReadIn::Statement, [](uint64 i) {
                bool isnull = false;
                return DatumGetInt32(ResultValue(i, ImmvColumn(immv_col::kFailures), &isnull));
            });
        if (failures.empty()) return std::nullopt;
        const int64 delay = core::RetryDelayMs(failures.front() + 1, NaptimeMs(), MaxRetryIntervalMs());
        SqlArgs args;
        args.AddOid(immv);
        args.AddText(error);
        args.AddInt64(delay);
        ChangeCatalog(
            "UPDATE ivmx.immv SET failures = failures + 1, last_error = $2, "
            "next_attempt = now() + $3 * interval '1 millisecond' WHERE immvrelid = $1",
            args, SPI_OK_UPDATE);
        ChangeCatalog(
            "INSERT INTO ivmx.refresh_history (immvrelid, started_at, duration, rows_consumed, "
            "rows_changed, kind, "
            "error) VALUES ($1, now(), interval '0', 0, 0, 'incremental', $2)",
            args, SPI_OK_INSERT);
        return delay;
    });
}

void RecordSlowRefresh(Oid immv, TimestampTz started, int64 elapsed_ms) {
    SqlArgs args;
    args.AddOid(immv);
    args.AddTimestamp(started);
    args.AddInt64(elapsed_ms);
    AsCatalogOwner([&] {
        ChangeCatalog(
            "UPDATE ivmx.immv SET slow_refreshes = slow_refreshes + 1, last_slow_refresh = $2, "
            "last_slow_duration = $3 * interval '1 millisecond' WHERE immvrelid = $1",
            args, SPI_OK_UPDATE);
    });
}

std::vector<Oid> ForgetCatalogRows(const std::vector<Oid>& dropped) {
    // With the caller's rights: the sql_drop event trigger's, which runs as
    // the extension's owner.
    struct Rows {
        Oid* items;
        uint64 count;
    };
    const Rows bases = PgCall([&] {
        Datum* items = static_cast<Datum*>(palloc(sizeof(Datum) * std::max<size_t>(dropped.size(), 1)));
        for (size_t i = 0; i < dropped.size(); ++i) items[i] = ObjectIdGetDatum(dropped[i]);
        Oid argtype = OIDARRAYOID;
        Datum arg = PointerGetDatum(
            construct_array(items, static_cast<int>(dropped.size()), OIDOID, sizeof(Oid), true, TYPALIGN_INT));
        int rc = SPI_execute_with_args(
            "DELETE FROM ivmx.immv_dependency WHERE immvrelid::oid = ANY ($1) OR relid::oid = ANY "
            "($1) "
            "RETURNING relid::oid AS relid",
            1, &argtype, &arg, nullptr, false, 0);
        if (rc != SPI_OK_DELETE_RETURNING) elog(ERROR, "could not update ivmx.immv_dependency");
        Rows out{nullptr, SPI_processed};
        if (out.count > 0) out.items = static_cast<Oid*>(palloc(sizeof(Oid) * out.count));
        for (uint64 i = 0; i < out.count; ++i) out.items[i] = ResultOid(i, DependencyColumn(dependency_col::kRelid));
        rc = SPI_execute_with_args("DELETE FROM ivmx.immv WHERE immvrelid::oid = ANY ($1)", 1, &argtype, &arg, nullptr,
                                   false, 0);
        if (rc != SPI_OK_DELETE) elog(ERROR, "could not update ivmx.immv");
        rc = SPI_execute_with_args("DELETE FROM ivmx.refresh_history WHERE immvrelid::oid = ANY ($1)", 1, &argtype,
                                   &arg, nullptr, false, 0);
        if (rc != SPI_OK_DELETE) elog(ERROR, "could not update ivmx.refresh_history");
        return out;
    });
    return std::vector<Oid>(bases.items, bases.items + bases.count);
}

void RegisterDeltaLog(Oid relid, Oid logrelid) {
    SqlArgs args;
    args.AddOid(relid);
    args.AddOid(logrelid);
    AsCatalogOwner(
        [&] { ChangeCatalog("INSERT INTO ivmx.delta_log (relid, logrelid) VALUES ($1, $2)", args, SPI_OK_INSERT); });
}

void UnregisterDeltaLog(Oid relid) {
    AsCatalogOwner([&] { ChangeCatalog("DELETE FROM ivmx.delta_log WHERE relid = $1", OidArg(relid), SPI_OK_DELETE); });
}

std::optional<Oid> DeltaLogOf(Oid relid) {
    // The latest snapshot, like LoadImmv: a writer whose snapshot predates
    // the switch of a reader to deferred (REPEATABLE READ) must still find
    // the log the switch created, or its changes would be neither applied
    // nor logged for that reader.
    const std::vector<Oid> logs = AsCatalogOwner([&] {
        return QueryOids("SELECT logrelid::pg_catalog.oid AS logrelid FROM ivmx.delta_log WHERE relid = $1", "logrelid",
                         OidArg(relid), ReadIn::Latest);
    });
    if (logs.empty()) return std::nullopt;
    return logs.front();
}

// --- snapshot marks ---

void RememberSnapshotMark(Snapshot snapshot) {
    AsCatalogOwner([&] {
        PgCall([&] {
            const int rc = SpiExecuteWithArgs(
                "INSERT INTO ivmx.snapshot_mark (taken_at, snapshot) SELECT clock_timestamp(), "
                "pg_current_snapshot() "
                "WHERE NOT EXISTS (SELECT FROM (SELECT snapshot FROM ivmx.snapshot_mark ORDER BY "
                "taken_at DESC LIMIT 1) "
                "m WHERE m.snapshot::text = pg_current_snapshot()::text)",
                SqlArgs(), false, 0, snapshot);
            if (rc != SPI_OK_INSERT) elog(ERROR, "could not update ivmx.snapshot_mark");
        });
        static int rounds = 0;
        if (++rounds % 64 != 0) return;
        PgCall([&] {
            const int rc = SpiExecuteWithArgs(
                "DELETE FROM ivmx.snapshot_mark WHERE taken_at < clock_timestamp() - interval '15 "
                "minutes' "
                "OR taken_at < (SELECT taken_at FROM ivmx.snapshot_mark ORDER BY taken_at DESC "
                "OFFSET 256 LIMIT 1)",
                SqlArgs(), false, 0, snapshot);
            if (rc != SPI_OK_DELETE) elog(ERROR, "could not update ivmx.snapshot_mark");
        });
    });
}

std::vector<std::string> SnapshotMarks() {
    const std::vector<char*> rows = AsCatalogOwner([] {
        return QueryRows<char*>("SELECT snapshot::text AS snapshot FROM ivmx.snapshot_mark ORDER BY taken_at",
                                SqlArgs(), ReadIn::Latest, [](uint64 i) { return ResultText(i, "snapshot"); });
    });
    std::vector<std::string> marks;
    for (const char* mark : rows) marks.emplace_back(mark != nullptr ? mark : "");
    return marks;
}

// --- conditions on delta log rows ---

std::string PendingCondition(const AppliedChanges& applied, SqlArgs& args) {
    const std::string watermark =
        applied.watermark.empty() ? args.AddNull(PG_SNAPSHOTOID) : args.AddPgSnapshot(applied.watermark);
    std::optional<core::PartialApplied> partial;
    if (applied.partial_xid != 0) {
        partial.emplace();
        partial->xid = args.AddXid8(applied.partial_xid);
        partial->seq = args.AddInt64(applied.partial_seq);
    }
    return core::PendingCondition(watermark, partial);
}

// --- the serialization check ---

namespace {

// Whether transaction xid committed after this transaction's snapshot was
// taken (it is not this transaction). PostgreSQL code.
bool CommittedAfterSnapshot(TransactionId xid) {
    return !TransactionIdIsCurrentTransactionId(xid) && XidInMVCCSnapshot(xid, GetTransactionSnapshot());
}

// What IMMV immv applied of the logs as this transaction's snapshot shows
// it; nullopt if that snapshot shows no catalog row.
std::optional<AppliedChanges> AppliedInTransactionSnapshot(Oid immv) {
    const std::string sql = std::string("SELECT ") + kAppliedColumns + " FROM ivmx.immv WHERE immvrelid = $1";
    const Snapshot mine = PgCall([] { return GetTransactionSnapshot(); });
    const std::vector<AppliedRow> rows = AsCatalogOwner(
        [&] { return QueryRows<AppliedRow>(sql.c_str(), OidArg(immv), ReadIn::Given, ReadAppliedRow, mine); });
    if (rows.empty()) return std::nullopt;
    return ToApplied(rows.front());
}

bool SameApplied(const AppliedChanges& a, const AppliedChanges& b) {
    return a.watermark == b.watermark && a.partial_xid == b.partial_xid && a.partial_seq == b.partial_seq;
}

bool ChangedAfterSnapshot(const ImmvRecord& record, ImmvState state) {
    switch (state) {
        case ImmvState::Recompute:
            return record.populated_xid != 0 && PgCall([&] {
                       return CommittedAfterSnapshot(
                           XidFromFullTransactionId(FullTransactionIdFromU64(record.populated_xid)));
                   });
        case ImmvState::LatestWrite:
            return PgCall([&] { return CommittedAfterSnapshot(record.row_xmin); });
        case ImmvState::Watermark: {
            const std::optional<AppliedChanges> mine = AppliedInTransactionSnapshot(record.relid);
            return !mine || !SameApplied(*mine, record.applied);
        }
    }
    return false;
}

}  // namespace

void CheckConcurrentRefresh(const ImmvRecord& record, ImmvState state) {
    if (!PgCall([] { return IsolationUsesXactSnapshot(); })) return;
    if (!ChangedAfterSnapshot(record, state)) return;
    const bool recompute = state == ImmvState::Recompute;
    PgCall([&] {
        ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                        errmsg("could not serialize access due to concurrent refresh of IMMV \"%s\"",
                               get_rel_name(record.relid)),
                        errdetail("The IMMV was %s by a transaction that committed after this transaction's "
                                  "snapshot was taken.",
                                  recompute ? "recomputed" : "refreshed"),
                        recompute ? errhint("Retry the transaction.")
                                  : errhint("Retry the transaction, or flush in READ COMMITTED.")));
    });
}

// --- dependencies ---

core::DependencyGraph LoadDependencyGraph(const std::vector<Oid>& vertices) {
    const std::vector<core::Dependency> edges = AsCatalogOwner([] {
        return QueryRows<core::Dependency>(
            "SELECT immvrelid::pg_catalog.oid AS immvrelid, relid::pg_catalog.oid AS relid FROM "
            "ivmx.immv_dependency",
            SqlArgs(), ReadIn::Statement, [](uint64 i) {
                return core::Dependency{ResultOid(i, DependencyColumn(dependency_col::kImmvRelid)),
                                        ResultOid(i, DependencyColumn(dependency_col::kRelid))};
            });
    });
    return core::DependencyGraph(edges, std::vector<core::RelationId>(vertices.begin(), vertices.end()));
}

std::vector<Oid> ImmvsReading(Oid relid, CatalogSnapshot snapshot) {
    return AsCatalogOwner([&] {
        return QueryOids(
            "SELECT immvrelid::pg_catalog.oid AS immvrelid FROM ivmx.immv_dependency WHERE relid = "
            "$1 "
            "ORDER BY 1",
            "immvrelid", OidArg(relid), snapshot == CatalogSnapshot::Latest ? ReadIn::Latest : ReadIn::Statement);
    });
}

std::vector<Oid> DeferredImmvsReading(Oid relid) {
    return AsCatalogOwner([&] {
        return QueryOids(
            "SELECT d.immvrelid::pg_catalog.oid AS immvrelid FROM ivmx.immv_dependency d "
            "JOIN ivmx.immv i USING (immvrelid) WHERE d.relid = $1 AND i.mode = 'deferred' "
            "ORDER BY 1",
            "immvrelid", OidArg(relid), ReadIn::Statement);
    });
}

std::vector<Oid> ImmvsReadingColumn(Oid relid, AttrNumber attnum) {
    SqlArgs args;
    args.AddOid(relid);
    args.AddInt64(attnum);
    return AsCatalogOwner([&] {
        return QueryOids(
            "SELECT DISTINCT d.objid AS immvrelid FROM pg_catalog.pg_depend d "
            "JOIN ivmx.immv i ON i.immvrelid::pg_catalog.oid = d.objid "
            "WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass "
            "AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass "
            "AND d.refobjid = $1 AND d.refobjsubid = $2 ORDER BY 1",
            "immvrelid", args, ReadIn::StatementReadOnly);
    });
}

std::vector<Oid> ImmvInputs(Oid immv) {
    return AsCatalogOwner([&] {
        return QueryOids(
            "SELECT relid::pg_catalog.oid AS relid FROM ivmx.immv_dependency WHERE immvrelid = $1 "
            "ORDER BY 1",
            "relid", OidArg(immv), ReadIn::Latest);
    });
}

}  // namespace ivmx::pg
