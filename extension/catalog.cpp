// pg_ivmx catalog access (see extension/catalog.hpp).
#include "catalog.hpp"

#include <cctype>

#include "ivmx/pg/guards.hpp"
#include "pg_util.hpp"

namespace ivmx::pg {

Oid CatalogRelid(const char* name) {
    Oid nsp = get_namespace_oid("ivmx", false);
    Oid relid = get_relname_relid(name, nsp);
    if (!OidIsValid(relid))
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                        errmsg("pg_ivmx relation ivmx.%s is missing", name)));
    return relid;
}

namespace {

constexpr int kImmvNatts = 18;       // see sql/pg_ivmx--*.sql, table ivmx.immv
constexpr int kDependencyNatts = 2;  // immvrelid, relid

void InsertRow(const char* table, Datum* values, bool* nulls) {
    Relation rel = table_open(CatalogRelid(table), RowExclusiveLock);
    HeapTuple tuple = heap_form_tuple(RelationGetDescr(rel), values, nulls);
    CatalogTupleInsert(rel, tuple);
    heap_freetuple(tuple);
    table_close(rel, RowExclusiveLock);
}

// Runs a catalog query with one oid parameter under the latest snapshot, so
// that IMMVs created by transactions committed after ours started are seen
// (their capture triggers are, through the catalog snapshot).
void QueryLatest(const char* sql, Oid arg_oid, long limit) {
    Oid argtype = OIDOID;
    Datum arg = ObjectIdGetDatum(arg_oid);
    SPIPlanPtr plan = SPI_prepare(sql, 1, &argtype);
    if (plan == nullptr) elog(ERROR, "could not prepare catalog query: %s", SPI_result_code_string(SPI_result));
    int rc = SPI_execute_snapshot(plan, &arg, nullptr, GetLatestSnapshot(), InvalidSnapshot, true,
                                  false, limit);
    if (rc != SPI_OK_SELECT) elog(ERROR, "could not read the pg_ivmx catalog: %s", SPI_result_code_string(rc));
    SPI_freeplan(plan);
}

}  // namespace

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
            set_config_option("search_path", kSafeSearchPath, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
                              true, 0, false);
        }
        SetUserIdAndSecContext(owner, frame.saved_context | SECURITY_LOCAL_USERID_CHANGE |
                                          SECURITY_RESTRICTED_OPERATION);
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

namespace {

// The columns of an ivmx.immv row LoadImmv reads, as palloc'd C data.
struct ImmvRow {
    bool found;
    char* query_tree;
    char* mode;
    bool populated;
    char* watermark;      // nullptr: NULL
    char* partial_xid;    // nullptr: NULL
    bool has_partial_seq;
    int64 partial_seq;
    char* populated_xid;  // nullptr: NULL
    char* row_xmin;
};

ImmvRow ReadImmvRow(Oid relid) {
    return PgCall([&] {
        ImmvRow row{};
        QueryLatest("SELECT querytree, mode, populated, watermark::text, partial_xid::text, "
                    "partial_seq, populated_xid::text, xmin::text FROM ivmx.immv "
                    "WHERE immvrelid = $1",
                    relid, 1);
        if (SPI_processed == 0) return row;
        HeapTuple tuple = SPI_tuptable->vals[0];
        TupleDesc desc = SPI_tuptable->tupdesc;
        bool isnull = false;
        auto text_or_null = [&](int column) -> char* {
            Datum value = SPI_getbinval(tuple, desc, column, &isnull);
            return isnull ? nullptr : TextDatumGetCString(value);
        };
        row.found = true;
        row.query_tree = text_or_null(1);
        row.mode = text_or_null(2);
        row.populated = DatumGetBool(SPI_getbinval(tuple, desc, 3, &isnull));
        row.watermark = text_or_null(4);
        row.partial_xid = text_or_null(5);
        Datum pseq = SPI_getbinval(tuple, desc, 6, &isnull);
        row.has_partial_seq = !isnull;
        if (!isnull) row.partial_seq = DatumGetInt64(pseq);
        row.populated_xid = text_or_null(7);
        row.row_xmin = text_or_null(8);
        return row;
    });
}

std::vector<Oid> OidColumn() {
    std::vector<Oid> out;
    for (uint64 i = 0; i < SPI_processed; ++i) {
        bool isnull = false;
        out.push_back(DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull)));
    }
    return out;
}

// The first column (oid) of the rows of a catalog query with one oid
// parameter, read under the latest snapshot (see QueryLatest).
std::vector<Oid> LatestOids(const char* sql, Oid arg) {
    // SPI's result stays valid after PgCall returns; the vector is filled
    // outside the guard (it has a destructor).
    PgCall([&] { QueryLatest(sql, arg, 0); });
    return OidColumn();
}

}  // namespace

std::optional<ImmvRecord> LoadImmv(Oid relid) {
    const ImmvRow row = AsCatalogOwner([&] { return ReadImmvRow(relid); });
    if (!row.found) return std::nullopt;
    ImmvRecord record;
    record.relid = relid;
    record.query_tree = row.query_tree;
    record.mode = ModeByName(row.mode).value_or(MaintenanceMode::Immediate);
    record.populated = row.populated;
    if (row.watermark != nullptr) record.watermark = row.watermark;
    if (row.partial_xid != nullptr) record.partial_xid = std::stoull(row.partial_xid);
    if (row.has_partial_seq) record.partial_seq = row.partial_seq;
    if (row.populated_xid != nullptr) record.populated_xid = std::stoull(row.populated_xid);
    record.row_xmin = static_cast<TransactionId>(std::stoul(row.row_xmin));
    return record;
}

std::vector<Oid> ImmvsReading(Oid relid) {
    return AsCatalogOwner([&] {
        return LatestOids("SELECT immvrelid::oid FROM ivmx.immv_dependency WHERE relid = $1 ORDER BY 1", relid);
    });
}

std::vector<Oid> ImmvInputs(Oid immv) {
    return AsCatalogOwner([&] {
        return LatestOids("SELECT relid::oid FROM ivmx.immv_dependency WHERE immvrelid = $1 ORDER BY 1", immv);
    });
}

core::DependencyGraph LoadDependencyGraph() {
    AsCatalogOwner([&] {
        PgCall([&] {
            int rc = SPI_execute("SELECT immvrelid::oid, relid::oid FROM ivmx.immv_dependency", false, 0);
            if (rc != SPI_OK_SELECT) elog(ERROR, "could not read ivmx.immv_dependency");
        });
    });
    std::vector<core::Dependency> edges;
    for (uint64 i = 0; i < SPI_processed; ++i) {
        bool isnull = false;
        HeapTuple tuple = SPI_tuptable->vals[i];
        edges.push_back({DatumGetObjectId(SPI_getbinval(tuple, SPI_tuptable->tupdesc, 1, &isnull)),
                         DatumGetObjectId(SPI_getbinval(tuple, SPI_tuptable->tupdesc, 2, &isnull))});
    }
    return core::DependencyGraph(edges);
}

void InsertImmv(const ImmvRecord& record, const std::vector<Oid>& base_relids) {
    PgCall([&] {
        Datum values[kImmvNatts] = {};
        bool nulls[kImmvNatts];
        for (bool& n : nulls) n = true;
        auto set = [&](int column, Datum value) {
            values[column] = value;
            nulls[column] = false;
        };
        set(0, ObjectIdGetDatum(record.relid));
        set(1, CStringGetTextDatum(record.query_tree.c_str()));
        set(2, CStringGetTextDatum(ModeName(record.mode).c_str()));
        set(3, BoolGetDatum(record.populated));
        set(4, FullTransactionIdGetDatum(GetTopFullTransactionId()));  // populated_xid
        set(11, Int64GetDatum(0));  // refresh_count
        set(12, Int32GetDatum(0));  // failures
        set(15, Int64GetDatum(0));  // slow_refreshes
        InsertRow("immv", values, nulls);
        for (Oid base : base_relids) {
            Datum dep[kDependencyNatts] = {ObjectIdGetDatum(record.relid), ObjectIdGetDatum(base)};
            bool dep_nulls[kDependencyNatts] = {false, false};
            InsertRow("immv_dependency", dep, dep_nulls);
        }
        CommandCounterIncrement();
    });
}

void SetImmvPopulated(Oid relid, bool populated) {
    PgCall([&] {
        Relation rel = table_open(CatalogRelid("immv"), RowExclusiveLock);
        ScanKeyData key;
        ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
        SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 1, &key);
        HeapTuple tuple = systable_getnext(scan);
        if (HeapTupleIsValid(tuple)) {
            Datum values[kImmvNatts] = {};
            bool nulls[kImmvNatts] = {};
            bool replace[kImmvNatts] = {};
            replace[3] = replace[4] = true;
            values[3] = BoolGetDatum(populated);
            values[4] = FullTransactionIdGetDatum(GetTopFullTransactionId());
            HeapTuple updated = heap_modify_tuple(tuple, RelationGetDescr(rel), values, nulls, replace);
            CatalogTupleUpdate(rel, &updated->t_self, updated);
            heap_freetuple(updated);
        }
        systable_endscan(scan);
        table_close(rel, RowExclusiveLock);
        CommandCounterIncrement();
    });
}

Query* ImmvQuery(const ImmvRecord& record) {
    return PgCall([&] { return castNode(Query, stringToNode(record.query_tree.c_str())); });
}

void CheckRecomputeVisible(const ImmvRecord& record) {
    if (record.populated_xid == 0) return;
    PgCall([&] {
        if (!IsolationUsesXactSnapshot()) return;
        const TransactionId xid =
            XidFromFullTransactionId(FullTransactionIdFromU64(record.populated_xid));
        if (TransactionIdIsCurrentTransactionId(xid)) return;
        if (!XidInMVCCSnapshot(xid, GetTransactionSnapshot())) return;
        ereport(ERROR,
                (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                 errmsg("could not serialize access due to concurrent refresh of IMMV \"%s\"",
                        get_rel_name(record.relid)),
                 errdetail("The IMMV was recomputed by a transaction that committed after this "
                           "transaction's snapshot was taken."),
                 errhint("Retry the transaction.")));
    });
}

ImmvRecord RequireImmv(Oid relid) {
    auto record = LoadImmv(relid);
    if (!record)
        PgCall([&] {
            ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                            errmsg("\"%s\" is not an incrementally maintainable materialized view",
                                   get_rel_name(relid)),
                            errhint("Create one with ivmx.create_immv().")));
        });
    return *record;
}

}  // namespace ivmx::pg
