// Delta logs of deferred maintenance: one table per base relation read by
// deferred IMMVs, ivmx."delta_<relid>", holding every changed row as
// (__ivm_xid: writer's top-level transaction id, __ivm_sign: +1 inserted /
// -1 deleted, __ivm_time: writer's transaction start, __ivm_seq: position in
// ivmx.delta_seq, increasing within each writing backend, then the
// relation's columns that deferred IMMVs read: a column no view reads is
// not copied into every log row).
// All deferred IMMVs on the relation share it. Which log belongs to which
// relation is recorded in ivmx.delta_log (catalog.hpp: RegisterDeltaLog,
// DeltaLogOf).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "ivmx/pg/postgres.hpp"
#include "maintainer.hpp"

namespace ivmx::pg {

// The log of relid for a new deferred reader: created if it does not exist
// yet, with the columns `reader` and relid's other deferred readers read.
Oid EnsureDeltaLog(Oid relid, const core::ViewDefinition& reader);

// Renames the log's column after the base column was renamed.
void FollowBaseColumnRename(Oid relid, const std::string& column, const std::string& new_name);

// Brings the log's columns in line with relid's (after ALTER TABLE): drops
// columns the table dropped, adds columns its deferred readers read (new
// columns, for readers of whole rows), and follows type changes of columns
// no IMMV reads. Older log rows get NULL in added or changed columns, which
// no IMMV reads (an IMMV reading them is newer than those rows).
void SyncDeltaLog(Oid relid);

// Drops relid's log when no deferred IMMV reads relid any more.
void DropDeltaLogIfUnused(Oid relid);

// A column of the base relation that its log records, and whether logged
// values of it can be compared with equality instead of by their text
// images (hashable, and equal values are indistinguishable).
struct LoggedColumn {
    std::string name;
    bool equal_by_value;
};

// The columns a log records, in order.
std::vector<LoggedColumn> DescribeLoggedColumns(Oid log_relid);
std::vector<std::string> LoggedColumns(Oid log_relid);  // their names

// Appends a statement's transition tables to a log. The rows are written
// straight into the log's heap (no SQL statement per trigger call: this is
// the whole cost deferred mode puts on writers); a log whose columns no
// longer have the base table's types, or that someone gave an index, is
// written through an INSERT ... SELECT from the transition tables (which must
// then be registered with SPI), prepared once per statement kind.
class DeltaLogWriter {
  public:
    DeltaLogWriter(Oid base_relid, Oid log_relid);
    ~DeltaLogWriter();
    DeltaLogWriter(const DeltaLogWriter&) = delete;
    DeltaLogWriter& operator=(const DeltaLogWriter&) = delete;

    // The statement's rows: its transition tables, in the columns of the
    // table it names (the base relation, or a member of its hierarchy:
    // extension/hierarchy.hpp).
    void Write(ChangeKind kind, TriggerData* data);
    // Rows in the columns of `desc` (either store may be null). The
    // statement fallback reads them from the transition table names
    // (kNewTableName, kOldTableName), which must then be registered with SPI
    // in the same columns.
    void Write(ChangeKind kind, TupleDesc desc, Tuplestorestate* inserted, Tuplestorestate* deleted,
               bool base_columns = true);

  private:
    // keep_plan: the registered rows have the base relation's columns (the
    // statement prepared once per kind fits them).
    void WriteWithSql(ChangeKind kind, bool keep_plan);

    Oid base_relid_;
    Oid log_relid_;
    Oid owner_;
    Oid sequence_;  // ivmx.delta_seq
    std::array<SPIPlanPtr, 3> plans_{};
};

}  // namespace ivmx::pg
