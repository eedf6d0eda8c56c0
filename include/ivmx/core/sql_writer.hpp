// The core's SQL writer: every statement the engine runs against an IMMV is
// written here, from the view IR, so that it can be unit-tested and shown to
// users (ivmx.explain_immv).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ivmx/core/view_ir.hpp"

namespace ivmx::core {

// A delta is a Z-set of view rows, given as signed streams. A stream is the
// view's FROM list with each relation occurrence reading either the base
// relation (its current, post-change state) or a FROM-item holding changed
// rows of it (a transition table's name, or a parenthesised query with the
// relation's columns); every row of the stream counts `sign` (+1 or -1).
// A view with a join tree has streams given as whole FROM clauses instead
// (from_sql: " FROM ... WHERE ...", the view's WHERE included).
struct DeltaStream {
    std::vector<std::string> sources;  // one FROM-item per view.relations entry
    int sign = 1;
    std::string from_sql;  // set instead of sources for join-tree views
};

struct Delta {
    std::vector<DeltaStream> streams;
    // WITH queries the streams read ("name AS MATERIALIZED (...)"): every
    // statement applying the delta starts with them.
    std::vector<std::string> with_items;
    // Several occurrences changed at once: streams may cancel each other, so
    // rows must be netted before a bag view is touched.
    bool consolidate = false;
    // A keyed bag view's rows whose key is on both sides are updated in
    // place, in one statement with the deletes and inserts (UpdatesInPlace);
    // otherwise deleted and re-inserted.
    bool update_in_place = false;
    // The state of the relations that recomputes (lost min/max, non-finite
    // sums) read, per view.relations entry, when it is not their current
    // state: a deferred batch that ends before the latest change must
    // recompute from the relations as of its end. Empty: current state.
    std::vector<std::string> base_as_of;

    bool HasNegative() const;
    bool HasPositive() const;
    bool empty() const { return streams.empty(); }
};

// FROM-item with the rows of `relation` (a FROM-item of its current state)
// as they were before the changes in `later` (a FROM-item with `columns`
// and __ivm_sign, +1 inserted / -1 deleted), restricted to `columns`
// (quoted): the current rows less those inserted later, plus those deleted
// later, the changes netted per value and text first (a row inserted and
// deleted later was never there; one whose numeric display scale alone
// changed was). The columns' types need an equality operator.
std::string RelationBefore(const std::string& relation, const std::vector<std::string>& columns,
                           const std::string& later);

// The changed rows of one relation occurrence: FROM-items of its inserted and
// deleted rows (empty string: none).
struct ChangedOccurrence {
    size_t occurrence = 0;  // index into view.relations
    std::string inserted;
    std::string deleted;
};

// The delta of the view for changes to the given occurrences, by
// inclusion-exclusion over the changed occurrences with every other
// occurrence read in its current state:
//   dV = sum over non-empty T of (-1)^(|T|+1) * prod_{i in T} dR_i * prod_{j not in T} R'_j
// The WITH queries of a delta are named with_prefix followed by a number.
Delta BuildDelta(const ViewDefinition& view, const std::vector<ChangedOccurrence>& changed,
                 const std::string& with_prefix = "__ivm_d");

// The delta for changes to relation relation_id (every occurrence of it).
Delta RelationDelta(const ViewDefinition& view, unsigned int relation_id, const std::string& inserted,
                    const std::string& deleted);

// What a maintenance statement takes as its parameter $1.
enum class StepInput {
    None,
    TidsToRecompute,  // tid[] of IMMV rows whose min/max must be recomputed
    TidsToDelete,     // tid[] of IMMV rows whose multiplicity reached zero
};

struct MaintenanceStep {
    std::string sql;
    StepInput input = StepInput::None;
    // The statement returns rows (tid, gone boolean, stale boolean) naming
    // IMMV rows that later steps must delete (gone) or recompute (stale).
    bool reports_rows = false;
    // The statement returns one row: the number of IMMV rows it changed.
    bool returns_count = false;
};

// The statements that apply one delta to one IMMV, in order. Steps with an
// input run only when earlier steps reported rows for it.
struct MaintenancePlan {
    std::vector<MaintenanceStep> steps;
};

// Starts a step that reads the delta with the delta's WITH queries (its own
// WITH queries, if any, after them); a step fed rows by an earlier one
// (StepInput other than None) reads no delta and is left as it is.
void AddDeltaQueries(MaintenanceStep& step, const Delta& delta);

// Statements applying `delta` to the IMMV of `view`.
MaintenancePlan BuildMaintenancePlan(const ViewDefinition& view, const Delta& delta);

// SELECT producing every IMMV column (visible, then hidden) from the base relations.
std::string PopulateQuery(const ViewDefinition& view);

// CREATE TABLE <immv> AS <populate query>: creates and fills the IMMV.
std::string CreateTableSql(const ViewDefinition& view);

// The fillfactor of IMMVs whose rows maintenance updates in place (bag views
// with a row key).
constexpr int kKeyedFillFactor = 90;

// A statement that changes fewer rows than this deletes and re-inserts the
// rows of a keyed view: the one statement that updates in place costs more
// to start (its common table expressions and full join) than it saves on so
// few rows.
constexpr unsigned long kInPlaceMinRows = 64;

// Whether a statement that changed `rows` rows of a base relation updates
// the view's rows in place (Delta::update_in_place): a bag view with a row
// key, and enough rows.
bool UpdatesInPlace(const ViewDefinition& view, unsigned long rows);

// CREATE UNIQUE INDEX on the IMMV's identity columns, if it has any.
std::optional<std::string> CreateIndexSql(const ViewDefinition& view);

// Statements that create and fill the companion tables of the IMMV (the
// groups table of a view with HAVING, and its index), once the IMMV exists.
std::vector<std::string> CreateCompanionsSql(const ViewDefinition& view);

// The companion tables of the IMMV: tables the engine keeps beside it, which
// belong to it (they go when it goes) and which only maintenance writes.
std::vector<QualifiedName> Companions(const ViewDefinition& view);

// Statements that recompute the IMMV from scratch (empty it, then fill it
// unless with_data is false). truncate: empty with TRUNCATE (fast, but
// blocks readers); otherwise with DELETE.
std::vector<std::string> RefreshStatements(const ViewDefinition& view, bool with_data, bool truncate = true);

// The IMMV columns that belong to the user's select list, in order.
std::vector<std::string> VisibleColumns(const ViewDefinition& view);

// Every IMMV column, visible then hidden, in table order.
std::vector<std::string> TableColumns(const ViewDefinition& view);

// A query returning the number of rows by which the IMMV's visible columns
// differ from definition_sql (multiset difference both ways); 0 = equal.
std::string VerifySql(const ViewDefinition& view, const std::string& definition_sql);

}  // namespace ivmx::core
