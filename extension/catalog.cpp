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

constexpr int kImmvNatts = 15;       // see sql/pg_ivmx--*.sql, table ivmx.immv
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

std::optional<ImmvRecord> LoadImmv(Oid relid) {
    return PgCall([&]() -> std::optional<ImmvRecord> {
        QueryLatest("SELECT querytree, mode, populated, watermark::text, partial_xid::text, "
                    "partial_seq, populated_xid::text, xmin::text FROM ivmx.immv "
                    "WHERE immvrelid = $1",
                    relid, 1);
        if (SPI_processed == 0) return std::nullopt;
        HeapTuple tuple = SPI_tuptable->vals[0];
        TupleDesc desc = SPI_tuptable->tupdesc;
        bool isnull = false;
        ImmvRecord record;
        record.relid = relid;
        char* tree = TextDatumGetCString(SPI_getbinval(tuple, desc, 1, &isnull));
        record.query_tree = tree;
        char* mode = TextDatumGetCString(SPI_getbinval(tuple, desc, 2, &isnull));
        record.mode = ModeByName(mode).value_or(MaintenanceMode::Immediate);
        record.populated = DatumGetBool(SPI_getbinval(tuple, desc, 3, &isnull));
        Datum mark = SPI_getbinval(tuple, desc, 4, &isnull);
        if (!isnull) record.watermark = TextDatumGetCString(mark);
        Datum pxid = SPI_getbinval(tuple, desc, 5, &isnull);
        if (!isnull) record.partial_xid = std::stoull(TextDatumGetCString(pxid));
        Datum pseq = SPI_getbinval(tuple, desc, 6, &isnull);
        if (!isnull) record.partial_seq = DatumGetInt64(pseq);
        Datum pop = SPI_getbinval(tuple, desc, 7, &isnull);
        if (!isnull) record.populated_xid = std::stoull(TextDatumGetCString(pop));
        record.row_xmin = static_cast<TransactionId>(
            std::stoul(TextDatumGetCString(SPI_getbinval(tuple, desc, 8, &isnull))));
        return record;
    });
}

std::vector<Oid> ImmvsReading(Oid relid) {
    return PgCall([&] {
        QueryLatest("SELECT immvrelid::oid FROM ivmx.immv_dependency WHERE relid = $1 ORDER BY 1",
                    relid, 0);
        std::vector<Oid> out;
        for (uint64 i = 0; i < SPI_processed; ++i) {
            bool isnull = false;
            out.push_back(DatumGetObjectId(
                SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull)));
        }
        return out;
    });
}

core::DependencyGraph LoadDependencyGraph() {
    std::vector<core::Dependency> edges;
    PgCall([&] {
        int rc = SPI_execute("SELECT immvrelid::oid, relid::oid FROM ivmx.immv_dependency", false, 0);
        if (rc != SPI_OK_SELECT) elog(ERROR, "could not read ivmx.immv_dependency");
        for (uint64 i = 0; i < SPI_processed; ++i) {
            bool isnull = false;
            edges.push_back(
                {DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull)),
                 DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull))});
        }
    });
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
