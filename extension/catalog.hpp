// Access to pg_ivmx's catalog tables ivmx.immv and ivmx.immv_dependency.
//
// Reads go through SPI (an SPI connection must be open). Writes use direct
// heap access, so that an IMMV's owner can create, refresh and drop it
// without holding privileges on the catalog tables themselves.
//
// Row-level security shows a session only the catalog rows of the IMMVs it
// may monitor (see MayMonitorImmv); the extension's own reads must see every
// row, whoever's session they run in (a writer maintaining another role's
// IMMV, a flush of an IMMV whose upstream belongs to someone else): they run
// through AsCatalogOwner. The reads declared here do so themselves.
#pragma once

#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "ivmx/core/dependency_graph.hpp"
#include "ivmx/pg/guards.hpp"
#include "ivmx/pg/postgres.hpp"

namespace ivmx::pg {

namespace detail {
// What AsCatalogOwner restores.
struct CatalogOwnerFrame {
    Oid saved_user;
    int saved_context;
    int guc_nest_level;  // -1: search_path was already the safe one
};
CatalogOwnerFrame EnterCatalogOwner();
void LeaveCatalogOwner(const CatalogOwnerFrame& frame);
}  // namespace detail

// Runs f as the owner of pg_ivmx's catalog (who is not subject to its
// row-level security, so that f's catalog queries see every row) inside a
// security-restricted operation, with search_path = pg_catalog, pg_temp (no
// operator or function of the caller's schemas can be picked up by a query
// running with the catalog owner's rights). The caller's role and
// search_path are restored when f returns, and also when it throws. For
// reads (and writes) of pg_ivmx's own tables only: never run user-defined
// SQL (an IMMV's query) in f.
template <typename F>
auto AsCatalogOwner(F&& f) -> decltype(f()) {
    const detail::CatalogOwnerFrame frame = detail::EnterCatalogOwner();
    try {
        if constexpr (std::is_void_v<decltype(f())>) {
            f();
            detail::LeaveCatalogOwner(frame);
        } else {
            auto result = f();
            detail::LeaveCatalogOwner(frame);
            return result;
        }
    } catch (...) {
        detail::LeaveCatalogOwner(frame);
        throw;
    }
}

// Whether the current user may see the catalog rows, status and pending
// changes of IMMV immv: its owner and the roles having its privileges
// (pg_has_role(owner, 'USAGE')), members of pg_monitor, superusers and the
// catalog's owner: the rows the row-level security policies of the catalog
// tables (sql/pg_ivmx--*.sql) show. False if immv does not exist.
bool MayMonitorImmv(Oid immv);

enum class MaintenanceMode { Immediate, Deferred };

// The OID of pg_ivmx's relation ivmx.<name> (a catalog table, the log
// sequence); an error if it is missing. Raises PostgreSQL errors: call
// inside PgCall.
Oid CatalogRelid(const char* name);

std::string ModeName(MaintenanceMode mode);
std::optional<MaintenanceMode> ModeByName(const std::string& name);

struct ImmvRecord {
    Oid relid = InvalidOid;
    std::string query_tree;  // nodeToString of the analysed defining query
    MaintenanceMode mode = MaintenanceMode::Immediate;
    bool populated = true;
    std::string watermark;  // pg_snapshot text; empty unless deferred
    uint64 populated_xid = 0;  // transaction that last recomputed the IMMV
    TransactionId row_xmin = InvalidTransactionId;  // last writer of this catalog row (a refresh)
    uint64 partial_xid = 0;  // rows of this transaction up to partial_seq are applied too
    int64 partial_seq = 0;
};

// The catalog row of an IMMV, or nullopt if relid is not an IMMV.
std::optional<ImmvRecord> LoadImmv(Oid relid);

// The dependency graph of the database's IMMVs (edges IMMV -> relation it
// reads), in one catalog query that sees this transaction's own changes.
core::DependencyGraph LoadDependencyGraph();

// IMMVs that read relation relid.
std::vector<Oid> ImmvsReading(Oid relid);

// The relations IMMV immv reads (base tables and IMMVs), in OID order.
std::vector<Oid> ImmvInputs(Oid immv);

// Registers a new IMMV and the relations it reads.
void InsertImmv(const ImmvRecord& record, const std::vector<Oid>& base_relids);

// In REPEATABLE READ / SERIALIZABLE: raises a serialization failure when the
// IMMV was recomputed by a transaction this transaction's snapshot cannot
// see (its contents would look empty or stale to our maintenance).
void CheckRecomputeVisible(const ImmvRecord& record);

// Marks an IMMV populated or not (refresh_immv with_data), recomputed by
// the current transaction.
void SetImmvPopulated(Oid relid, bool populated);

// The analysed defining query of an IMMV, in the current memory context.
Query* ImmvQuery(const ImmvRecord& record);

// Looks up an IMMV given by a regclass argument; raises a PostgreSQL-style
// error (wrong_object_type) if the relation is not an IMMV.
ImmvRecord RequireImmv(Oid relid);

}  // namespace ivmx::pg
