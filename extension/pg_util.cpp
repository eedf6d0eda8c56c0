// Helpers over PostgreSQL APIs (see extension/pg_util.hpp).
#include "pg_util.hpp"

#include "ivmx/core/error.hpp"
#include "ivmx/core/error_propagation.hpp"

// Inside a PgCall region only PostgreSQL data is held (palloc'd memory,
// Datums, C strings): an ERROR longjmps out of it, past the destructors of
// any C++ object created there. Results become C++ objects after the guard
// returns.

namespace ivmx::pg {

int MaintenanceScope::depth_ = 0;

bool MustPropagate(const PgError& error) {
    return core::MustPropagate(unpack_sql_state(error.sqlerrcode));
}

bool IsInterruption(const PgError& error) {
    return core::IsInterruption(unpack_sql_state(error.sqlerrcode));
}

namespace detail {

SubtransactionFrame BeginSubtransaction() {
    const SubtransactionFrame frame{CurrentMemoryContext, CurrentResourceOwner};
    PgCall([] { BeginInternalSubTransaction(nullptr); });
    MemoryContextSwitchTo(frame.context);
    return frame;
}

void CommitSubtransaction(const SubtransactionFrame& frame) {
    PgCall([] { ReleaseCurrentSubTransaction(); });
    MemoryContextSwitchTo(frame.context);
    CurrentResourceOwner = frame.owner;
}

void RollBackSubtransaction(const SubtransactionFrame& frame) {
    PgCall([] { RollbackAndReleaseCurrentSubTransaction(); });
    MemoryContextSwitchTo(frame.context);
    CurrentResourceOwner = frame.owner;
}

}  // namespace detail

void ReportCallbackFailure(const ErrorData* edata, const char* callback) {
    ErrorData report = *edata;
    report.elevel = WARNING;
    if (report.context == nullptr) report.context = const_cast<char*>(callback);
    ThrowErrorData(&report);  // returns: a WARNING
}

core::QualifiedName RelationName(Oid relid) {
    struct Names {
        const char* nsp;
        const char* rel;
    };
    const Names names = PgCall([&] {
        char* rel = get_rel_name(relid);
        if (rel == nullptr)
            ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation with OID %u does not exist", relid)));
        return Names{get_namespace_name_or_temp(get_rel_namespace(relid)), rel};
    });
    if (names.nsp == nullptr)
        throw core::Error(core::sqlstate::kInternalError,
                          "schema of relation with OID " + std::to_string(relid) + " does not exist");
    return core::QualifiedName{names.nsp, names.rel};
}

Oid CatalogOwner() {
    return PgCall([] {
        Oid nsp = get_namespace_oid("ivmx", false);
        HeapTuple tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
        if (!HeapTupleIsValid(tup)) elog(ERROR, "cache lookup failed for schema %u", nsp);
        Oid owner = reinterpret_cast<Form_pg_namespace>(GETSTRUCT(tup))->nspowner;
        ReleaseSysCache(tup);
        return owner;
    });
}

Oid RelationOwner(Oid relid) {
    return PgCall([&] {
        HeapTuple tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
        if (!HeapTupleIsValid(tup)) elog(ERROR, "cache lookup failed for relation %u", relid);
        Oid owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tup))->relowner;
        ReleaseSysCache(tup);
        return owner;
    });
}

uint64 SpiExecute(const std::string& sql, bool read_only) {
    return PgCall([&] {
        int rc = SPI_execute(sql.c_str(), read_only, 0);
        if (rc < 0)
            ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                            errmsg("pg_ivmx could not run an internal statement: %s", SPI_result_code_string(rc)),
                            errdetail("Statement: %s", sql.c_str())));
        return SPI_processed;
    });
}

std::vector<Oid> SpiOids(const std::string& sql, std::optional<Oid> param) {
    // The OIDs in a palloc'd array, copied into the vector after the guard.
    struct Oids {
        Oid* items;
        uint64 count;
    };
    const Oids found = PgCall([&] {
        Oid argtype = OIDOID;
        Datum arg = ObjectIdGetDatum(param.value_or(InvalidOid));
        const int nargs = param ? 1 : 0;
        int rc = SPI_execute_with_args(sql.c_str(), nargs, nargs ? &argtype : nullptr, nargs ? &arg : nullptr, nullptr,
                                       false, 0);
        if (rc != SPI_OK_SELECT) elog(ERROR, "pg_ivmx catalog query failed: %s", sql.c_str());
        Oids oids{static_cast<Oid*>(palloc(sizeof(Oid) * Max(SPI_processed, uint64(1)))), 0};
        for (uint64 i = 0; i < SPI_processed; ++i) {
            bool isnull = false;
            Datum d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
            if (!isnull) oids.items[oids.count++] = DatumGetObjectId(d);
        }
        return oids;
    });
    std::vector<Oid> out(found.items, found.items + found.count);
    pfree(found.items);
    return out;
}

int64 SpiQueryInt64(const std::string& sql) {
    return PgCall([&] {
        // Not read-only: the query sees the latest state, including changes
        // made earlier in the calling statement (e.g. by ivmx.flush()).
        int rc = SPI_execute(sql.c_str(), false, 0);
        if (rc != SPI_OK_SELECT || SPI_processed != 1)
            ereport(ERROR,
                    (errcode(ERRCODE_INTERNAL_ERROR), errmsg("pg_ivmx internal query returned an unexpected result"),
                     errdetail("Statement: %s", sql.c_str())));
        bool isnull = false;
        Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
        return isnull ? int64(0) : DatumGetInt64(d);
    });
}

void SpiConnect() {
    PgCall([] {
        if (SPI_connect() != SPI_OK_CONNECT) elog(ERROR, "SPI_connect failed");
    });
}

void SpiFinish() {
    PgCall([] {
        if (SPI_finish() != SPI_OK_FINISH) elog(ERROR, "SPI_finish failed");
    });
}

std::string TextToString(Datum value) {
    char* chars = PgCall([&] { return TextDatumGetCString(value); });
    std::string out(chars);
    pfree(chars);
    return out;
}

}  // namespace ivmx::pg
