// The base tables and IMMVs the stress test works on.
//
// Four tables with small value domains, so that random changes collide in
// the same groups and join keys: t_pk (integer primary key), t_bag (no key at
// all, so duplicate rows are common; partitioned by g, on two levels, so that
// updates move rows between partitions), t_kv (composite primary key) and t_fk (a
// child of t_pk: ON DELETE/UPDATE CASCADE, and row triggers that mirror some of
// its rows into t_bag, so one statement often changes two or three tables).
// The IMMVs cover every view shape the extension maintains, over one table,
// inner joins (self-joins included), outer joins, EXISTS/NOT EXISTS,
// subqueries in FROM and WITH queries; each is checked against its defining
// query after every statement.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace stress {

// How the generators produce values for a column.
enum class ValueKind {
    Key,        // integers handed out by a counter (fresh rows get new values)
    Small,      // integers 0 .. domain-1 (group keys that collide)
    Numeric,    // numeric multiples of 0.25
    Float,      // float8 multiples of 0.25: exact, so float sums are exact
    Text,       // short strings from a small set (incl. '' and a quote)
    Reference,  // integers referencing the primary key of Column::references
};

struct Column {
    std::string name;
    std::string type;  // SQL type
    ValueKind kind;
    bool nullable;
    int domain = 0;               // for Small
    std::string references = {};  // for Reference: the referenced table (ON DELETE/UPDATE CASCADE)
};

struct Table {
    std::string name;
    std::vector<Column> columns;
    std::vector<std::string> primary_key;  // empty: no key
    std::string row_tag;                   // the Key column that identifies (roughly) one row
    // A partitioned table: its PARTITION BY clause, and its partitions at
    // every level (created with TableTriggersSql), which statements may
    // also name: deletes do (their rows are the parent's rows too).
    std::string partition_by = {};
    std::vector<std::string> partitions = {};

    const Column& Get(const std::string& column) const;
    std::string ColumnList() const;  // "a, b, c"
    std::string CreateSql() const;
};

// An IMMV under test.
struct View {
    std::string name;
    std::string shape;                    // what it exercises, for reports
    std::string query;                    // its defining query
    bool deferred = false;                // created with mode => 'deferred'
    std::vector<std::string> reads = {};  // IMMVs its query reads (nested IMMVs)

    std::string CreateSql() const;  // the ivmx.create_immv call
};

const std::vector<Table>& Tables();
// Functions and triggers that tie the tables together, created after them.
const std::vector<std::string>& TableTriggersSql();
// In dependency order: an IMMV comes after every IMMV it reads.
const std::vector<View>& Views();
const View& ViewNamed(const std::string& name);
// `view` and every IMMV it reads, directly or through others.
std::vector<const View*> ViewAndUpstream(const View& view);
const Table& TableNamed(const std::string& name);
// Whether `view` reads another IMMV or is read by one (a nested IMMV).
bool IsNested(const View& view);
// Every (IMMV, IMMV reading it) pair, upstream first.
std::vector<std::pair<const View*, const View*>> NestedLinks();
// The IMMVs the runners switch between modes with ivmx.set_mode: those created
// deferred (the dmv_* twins and deferred nested levels) and every nested IMMV.
std::vector<const View*> SwitchableViews();

}  // namespace stress
