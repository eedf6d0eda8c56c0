// Helpers over PostgreSQL APIs (see extension/pg_util.hpp).
#include "pg_util.hpp"

namespace ivmx::pg {

int MaintenanceScope::depth_ = 0;

core::QualifiedName RelationName(Oid relid) {
    return PgCall([&] {
        char* rel = get_rel_name(relid);
        if (rel == nullptr)
            ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                            errmsg("relation with OID %u does not exist", relid)));
        char* nsp = get_namespace_name_or_temp(get_rel_namespace(relid));
        return core::QualifiedName{nsp, rel};
    });
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
                            errmsg("pg_ivmx could not run an internal statement: %s",
                                   SPI_result_code_string(rc)),
                            errdetail("Statement: %s", sql.c_str())));
        return SPI_processed;
    });
}

std::vector<Oid> SpiOids(const std::string& sql, std::optional<Oid> param) {
    return PgCall([&] {
        Oid argtype = OIDOID;
        Datum arg = ObjectIdGetDatum(param.value_or(InvalidOid));
        const int nargs = param ? 1 : 0;
        int rc = SPI_execute_with_args(sql.c_str(), nargs, nargs ? &argtype : nullptr,
                                       nargs ? &arg : nullptr, nullptr, false, 0);
        if (rc != SPI_OK_SELECT) elog(ERROR, "pg_ivmx catalog query failed: %s", sql.c_str());
        std::vector<Oid> out;
        for (uint64 i = 0; i < SPI_processed; ++i) {
            bool isnull = false;
            Datum d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
            if (!isnull) out.push_back(DatumGetObjectId(d));
        }
        return out;
    });
}

int64 SpiQueryInt64(const std::string& sql) {
    return PgCall([&] {
        // Not read-only: the query sees the latest state, including changes
        // made earlier in the calling statement (e.g. by ivmx.flush()).
        int rc = SPI_execute(sql.c_str(), false, 0);
        if (rc != SPI_OK_SELECT || SPI_processed != 1)
            ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                            errmsg("pg_ivmx internal query returned an unexpected result"),
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
    return PgCall([&] {
        char* s = TextDatumGetCString(value);
        std::string out(s);
        pfree(s);
        return out;
    });
}

}  // namespace ivmx::pg
