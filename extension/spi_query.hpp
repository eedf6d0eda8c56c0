// Statements run through SPI with bound parameters, in a chosen snapshot,
// and their results read by column name: the helpers that the catalog
// module (extension/catalog.cpp) builds its typed operations on. Values are
// bound as statement parameters (SqlArgs), never spliced into the text.
//
// An SPI connection must be open. Functions marked "PostgreSQL code" raise
// PostgreSQL errors: call them inside PgCall. QueryRows and QueryOids run
// the guard themselves and return C++ data.
#pragma once

#include <string>
#include <type_traits>
#include <vector>

#include "ivmx/pg/guards.hpp"
#include "ivmx/pg/postgres.hpp"

namespace ivmx::pg {

// --- bound values ------------------------------------------------------------

// The values of a statement's parameters $1, $2, ...: C++ data until Bind
// turns them into Datums for SPI inside the guard that runs the statement.
// Each Add returns the placeholder of the value it adds ("$3"), to be
// written into the statement's text where the value is used.
class SqlArgs {
  public:
    std::string AddOid(Oid value);
    std::string AddInt64(int64 value);
    std::string AddXid8(uint64 value);  // a FullTransactionId as uint64
    std::string AddTimestamp(TimestampTz value);
    std::string AddText(const std::string& value);
    std::string AddPgSnapshot(const std::string& text);  // pg_snapshot text, "xmin:xmax:xip,..."
    std::string AddNull(Oid type);

    int count() const { return static_cast<int>(args_.size()); }

    // The parameters as SPI takes them (palloc'd in the current memory
    // context; nullptr when there are none).
    struct Bound {
        int count;
        Oid* types;
        Datum* values;
        char* nulls;
    };
    // Raises PostgreSQL errors (a value its type's input function rejects):
    // call inside PgCall.
    Bound Bind() const;

  private:
    struct Arg {
        Oid type;
        bool is_null;
        Datum by_value;  // for types passed by value
        bool from_text;  // converted from text by the type's input function
        std::string text;
    };
    std::string Push(Arg arg);
    std::vector<Arg> args_;
};

// SqlArgs with one oid value, $1.
SqlArgs OidArg(Oid value);

// --- running statements ------------------------------------------------------

// Runs sql with args bound (SPI connected): in the current snapshot
// (SPI_execute_with_args), or in `snapshot` when it is given. Returns the
// SPI result code. PostgreSQL code.
int SpiExecuteWithArgs(const char* sql, const SqlArgs& args, bool read_only, long count,
                       Snapshot snapshot = InvalidSnapshot);

// Which snapshot a query reads in.
enum class ReadIn {
    Statement,          // SPI, not read-only: this transaction's latest changes too
    StatementReadOnly,  // SPI, read-only: the active snapshot
    Latest,             // the latest snapshot: also transactions committed since ours started
    Given,              // the snapshot passed along
};

// Runs a query (args bound) in the snapshot read_in names (`snapshot` for
// ReadIn::Given); returns the SPI result code. PostgreSQL code.
int SpiQueryIn(const char* sql, const SqlArgs& args, ReadIn read_in, Snapshot snapshot = InvalidSnapshot);

// --- reading results ---------------------------------------------------------

// Column `name` of row `row` of SPI's current result. PostgreSQL code.
Datum ResultValue(uint64 row, const char* name, bool* isnull);

// Column `name` as a palloc'd C string (its text), nullptr for NULL.
// PostgreSQL code.
char* ResultText(uint64 row, const char* name);

// Column `name` as an oid (InvalidOid for NULL), a bool (false for NULL).
// PostgreSQL code.
Oid ResultOid(uint64 row, const char* name);
bool ResultBool(uint64 row, const char* name);

// Runs a query (SpiQueryIn) and turns each row of its result into a Row (a
// trivially copyable struct of PostgreSQL data) with read_row, PostgreSQL
// code that reads SPI's result; the rows are copied into the vector once the
// guard has returned.
template <typename Row, typename ReadRow>
std::vector<Row> QueryRows(const char* sql, const SqlArgs& args, ReadIn read_in, ReadRow&& read_row,
                           Snapshot snapshot = InvalidSnapshot) {
    static_assert(std::is_trivially_copyable_v<Row> && std::is_trivially_destructible_v<Row>);
    struct Rows {
        Row* items;
        uint64 count;
    };
    const Rows rows = PgCall([&] {
        const int rc = SpiQueryIn(sql, args, read_in, snapshot);
        if (rc != SPI_OK_SELECT) elog(ERROR, "could not read the pg_ivmx catalog: %s", SPI_result_code_string(rc));
        Rows out{nullptr, SPI_processed};
        if (out.count > 0) out.items = static_cast<Row*>(palloc(sizeof(Row) * out.count));
        for (uint64 i = 0; i < out.count; ++i) out.items[i] = read_row(i);
        return out;
    });
    return std::vector<Row>(rows.items, rows.items + rows.count);
}

// The column named `column` (an oid) of every row of a query.
std::vector<Oid> QueryOids(const char* sql, const char* column, const SqlArgs& args, ReadIn read_in);

}  // namespace ivmx::pg
