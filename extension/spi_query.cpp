// Statements through SPI with bound parameters (see extension/spi_query.hpp).
#include "spi_query.hpp"

namespace ivmx::pg {

// --- SqlArgs ---

std::string SqlArgs::Push(Arg arg) {
    args_.push_back(std::move(arg));
    return "$" + std::to_string(args_.size());
}

std::string SqlArgs::AddOid(Oid value) {
    return Push({OIDOID, false, ObjectIdGetDatum(value), false, {}});
}
std::string SqlArgs::AddInt64(int64 value) {
    return Push({INT8OID, false, Int64GetDatum(value), false, {}});
}
std::string SqlArgs::AddXid8(uint64 value) {
    return Push({XID8OID, false, UInt64GetDatum(value), false, {}});
}
std::string SqlArgs::AddTimestamp(TimestampTz value) {
    return Push({TIMESTAMPTZOID, false, TimestampTzGetDatum(value), false, {}});
}
std::string SqlArgs::AddText(const std::string& value) {
    return Push({TEXTOID, false, 0, true, value});
}
std::string SqlArgs::AddPgSnapshot(const std::string& text) {
    return Push({PG_SNAPSHOTOID, false, 0, true, text});
}
std::string SqlArgs::AddNull(Oid type) {
    return Push({type, true, 0, false, {}});
}

SqlArgs::Bound SqlArgs::Bind() const {
    Bound bound{count(), nullptr, nullptr, nullptr};
    if (bound.count == 0) return bound;
    bound.types = static_cast<Oid*>(palloc(sizeof(Oid) * bound.count));
    bound.values = static_cast<Datum*>(palloc(sizeof(Datum) * bound.count));
    bound.nulls = static_cast<char*>(palloc(bound.count));
    for (int i = 0; i < bound.count; ++i) {
        const Arg& arg = args_[i];
        bound.types[i] = arg.type;
        bound.nulls[i] = arg.is_null ? 'n' : ' ';
        bound.values[i] = arg.by_value;
        if (arg.is_null || !arg.from_text) continue;
        Oid input = InvalidOid;
        Oid ioparam = InvalidOid;
        getTypeInputInfo(arg.type, &input, &ioparam);
        bound.values[i] = OidInputFunctionCall(input, const_cast<char*>(arg.text.c_str()), ioparam, -1);
    }
    return bound;
}

SqlArgs OidArg(Oid value) {
    SqlArgs args;
    args.AddOid(value);
    return args;
}

// --- running statements ---

int SpiExecuteWithArgs(const char* sql, const SqlArgs& args, bool read_only, long count, Snapshot snapshot) {
    const SqlArgs::Bound bound = args.Bind();
    if (snapshot == InvalidSnapshot)
        return SPI_execute_with_args(sql, bound.count, bound.types, bound.values, bound.nulls, read_only, count);
    SPIPlanPtr plan = SPI_prepare(sql, bound.count, bound.types);
    if (plan == nullptr) elog(ERROR, "could not prepare a pg_ivmx statement: %s", SPI_result_code_string(SPI_result));
    const int rc =
        SPI_execute_snapshot(plan, bound.values, bound.nulls, snapshot, InvalidSnapshot, read_only, false, count);
    SPI_freeplan(plan);
    return rc;
}

int SpiQueryIn(const char* sql, const SqlArgs& args, ReadIn read_in, Snapshot snapshot) {
    // (Registered: a copy that nothing overwrites while the query is
    // prepared.)
    Snapshot latest = read_in == ReadIn::Latest ? RegisterSnapshot(GetLatestSnapshot()) : InvalidSnapshot;
    const int rc =
        SpiExecuteWithArgs(sql, args, read_in != ReadIn::Statement, 0, latest != InvalidSnapshot ? latest : snapshot);
    if (latest != InvalidSnapshot) UnregisterSnapshot(latest);
    return rc;
}

// --- reading results ---

Datum ResultValue(uint64 row, const char* name, bool* isnull) {
    const int column = SPI_fnumber(SPI_tuptable->tupdesc, name);
    if (column <= 0) elog(ERROR, "pg_ivmx catalog query returned no column \"%s\"", name);
    return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, column, isnull);
}

char* ResultText(uint64 row, const char* name) {
    bool isnull = false;
    const Datum value = ResultValue(row, name, &isnull);
    return isnull ? nullptr : TextDatumGetCString(value);
}

Oid ResultOid(uint64 row, const char* name) {
    bool isnull = false;
    const Datum value = ResultValue(row, name, &isnull);
    return isnull ? InvalidOid : DatumGetObjectId(value);
}

bool ResultBool(uint64 row, const char* name) {
    bool isnull = false;
    const Datum value = ResultValue(row, name, &isnull);
    return !isnull && DatumGetBool(value);
}

std::vector<Oid> QueryOids(const char* sql, const char* column, const SqlArgs& args, ReadIn read_in) {
    return QueryRows<Oid>(sql, args, read_in, [&](uint64 i) { return ResultOid(i, column); });
}

}  // namespace ivmx::pg
