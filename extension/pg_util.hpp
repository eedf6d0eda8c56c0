// Small helpers over PostgreSQL APIs used across the extension: SPI
// execution through the error guard, the fixed search_path maintenance runs
// under, names of relations. All of them may throw ivmx::pg::PgError (or
// ivmx::core::Error).
#pragma once

#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "ivmx/core/view_ir.hpp"
#include "ivmx/pg/guards.hpp"

namespace ivmx::pg {

// The search_path every generated statement is prepared and run under: only
// pg_catalog resolves unqualified operators and functions, and temporary
// objects cannot shadow them.
inline constexpr const char* kSafeSearchPath = "pg_catalog, pg_temp";

// Runs f with the settings generated statements are planned and run under,
// restoring the previous values afterwards (on an exception they are left to
// transaction abort):
//  * search_path = kSafeSearchPath;
//  * jit = off: maintenance statements are many, short and large in text, so
//    that compiling them would cost more than it saves, and the planner's
//    estimates over transition tables and never-analyzed tables often exceed
//    the JIT cost thresholds by far.
template <typename F>
auto WithMaintenanceSettings(F&& f) -> decltype(f()) {
    int nest_level = PgCall([] {
        int level = NewGUCNestLevel();
        set_config_option("search_path", kSafeSearchPath, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
        set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
        return level;
    });
    if constexpr (std::is_void_v<decltype(f())>) {
        f();
        PgCall([&] { AtEOXact_GUC(true, nest_level); });
    } else {
        auto result = f();
        PgCall([&] { AtEOXact_GUC(true, nest_level); });
        return result;
    }
}

// Runs f as role `role`, restricted as in SECURITY DEFINER maintenance
// operations. On an exception the previous role is restored by transaction
// (or subtransaction) abort.
template <typename F>
auto AsRole(Oid role, F&& f) -> decltype(f()) {
    Oid saved_user = InvalidOid;
    int saved_context = 0;
    GetUserIdAndSecContext(&saved_user, &saved_context);
    SetUserIdAndSecContext(role, saved_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
    if constexpr (std::is_void_v<decltype(f())>) {
        f();
        SetUserIdAndSecContext(saved_user, saved_context);
    } else {
        auto result = f();
        SetUserIdAndSecContext(saved_user, saved_context);
        return result;
    }
}

// Whether a PostgreSQL error must propagate unchanged through code that
// catches errors to try something else (core::MustPropagate: a query
// cancel or statement_timeout, a shutdown, a deadlock, a lock timeout).
bool MustPropagate(const PgError& error);

// Whether a PostgreSQL error says that the work was asked to stop
// (core::IsInterruption: a query cancel, statement_timeout, a shutdown).
bool IsInterruption(const PgError& error);

namespace detail {
// What a subtransaction of InSubtransaction restores when it ends.
struct SubtransactionFrame {
    MemoryContext context;
    ResourceOwner owner;
};
SubtransactionFrame BeginSubtransaction();
void CommitSubtransaction(const SubtransactionFrame& frame);
void RollBackSubtransaction(const SubtransactionFrame& frame);
}  // namespace detail

// Runs f in a subtransaction. Returns nothing when f succeeded (its work
// then belongs to the current transaction), or the PostgreSQL error f
// raised, after rolling back everything f did: the caller may then try
// something else. An error that must propagate (MustPropagate) is not
// returned but rethrown, after the rollback, as is any other exception:
// a user's Ctrl-C stops the caller instead of making it try another way.
template <typename F>
std::optional<PgError> InSubtransaction(F&& f) {
    const detail::SubtransactionFrame frame = detail::BeginSubtransaction();
    // Only captured here: the rollback runs once the handler is left.
    std::exception_ptr failure;
    try {
        f();
    } catch (...) {
        failure = std::current_exception();
    }
    if (!failure) {
        detail::CommitSubtransaction(frame);
        return std::nullopt;
    }
    detail::RollBackSubtransaction(frame);
    try {
        std::rethrow_exception(failure);
    } catch (const PgError& e) {
        if (MustPropagate(e)) throw;
        return e;
    }
}

// Reports what ErrorDataFromCurrentException described as a WARNING (see
// CallbackGuard). Leaves edata itself unchanged.
void ReportCallbackFailure(const ErrorData* edata, const char* callback);

// Runs body for a callback that PostgreSQL calls directly at a point where
// it must not raise an ERROR: transaction and subtransaction callbacks (an
// ERROR after commit becomes a PANIC, one during an abort an error
// recursion), relcache and syscache invalidation callbacks (processed
// wherever invalidation messages are accepted). No C++ exception escapes:
// one thrown by body is reported as a WARNING once body's frames are gone,
// with `callback` as its context unless it has one. body follows the
// guards' rules (it calls PostgreSQL through PgCall); better, it calls no
// PostgreSQL function and allocates nothing. Returns whether body succeeded.
// (Callbacks that may raise an ERROR, as the pre-commit callback, hooks and
// SQL-callable functions, use EntryGuard.)
template <typename F>
bool CallbackGuard(const char* callback, F&& body) {
    ErrorData* failure = nullptr;
    try {
        body();
    } catch (...) {
        failure = ErrorDataFromCurrentException();
    }
    if (failure == nullptr) return true;
    ReportCallbackFailure(failure, callback);
    return false;
}

// The owner of the ivmx schema: pg_ivmx's own tables (catalog, delta logs)
// are written as this role, whoever triggers the write.
Oid CatalogOwner();

// The owner of a relation.
Oid RelationOwner(Oid relid);

// Schema and name of a relation.
core::QualifiedName RelationName(Oid relid);

// Executes one SQL statement through SPI (an SPI connection must be open);
// returns SPI_processed. Throws on error or on an unexpected SPI result code.
uint64 SpiExecute(const std::string& sql, bool read_only = false);

// Runs a query (with $1 bound to `param` when given; not read-only, so it
// sees this transaction's own changes) and returns the first column of every
// row as an OID.
std::vector<Oid> SpiOids(const std::string& sql, std::optional<Oid> param = std::nullopt);

// Runs a query expected to return one row with one bigint column.
int64 SpiQueryInt64(const std::string& sql);

// SPI_connect / SPI_finish through the guard.
void SpiConnect();
void SpiFinish();

// text Datum <-> std::string
std::string TextToString(Datum text);

// Counts maintenance work in progress in this backend; while non-zero, the
// guard trigger on IMMVs lets writes through, and the maintenance cache keeps
// the entries it replaces (extension/maintainer.hpp: what maintenance
// running above uses stays valid). Plain integer, restored by destructors:
// never crosses a PostgreSQL longjmp (see guards.hpp).
class MaintenanceScope {
  public:
    MaintenanceScope() { ++depth_; }
    ~MaintenanceScope() { --depth_; }
    MaintenanceScope(const MaintenanceScope&) = delete;
    MaintenanceScope& operator=(const MaintenanceScope&) = delete;
    static bool Active() { return depth_ > 0; }
    // At the end of a transaction no maintenance can be running: an error
    // that left a scope without running its destructor is forgotten.
    static void Reset() { depth_ = 0; }

  private:
    static int depth_;
};

}  // namespace ivmx::pg
