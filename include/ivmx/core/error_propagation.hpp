// Which PostgreSQL errors must reach the user unchanged.
//
// Some of pg_ivmx's code catches PostgreSQL errors to try another way (a
// deferred refresh applies a batch as logged in a subtransaction, and nets
// it first if that fails). Such a fallback must never swallow an error that
// says "stop": a user's Ctrl-C or statement_timeout, an administrator's
// shutdown, or the lock manager choosing this transaction as a deadlock
// victim or giving up on a lock_timeout. Retrying would run the work again
// for as long as before, and would hide the user's own limits. These errors
// are re-raised after the fallback's own cleanup (PL/pgSQL's OTHERS handler
// likewise does not catch a query cancel).
//
// The policy is a function of the SQLSTATE alone (five characters, as
// PostgreSQL's unpack_sql_state() and ivmx::core::Error give them).
#pragma once

#include <string_view>

#include "ivmx/core/error.hpp"  // the sqlstate:: constants

namespace ivmx::core {

// Whether `code` is a well-formed SQLSTATE: five characters, each a digit
// or an upper-case ASCII letter.
bool IsWellFormedSqlstate(std::string_view code);

// Whether the error says that someone asked the work to stop: class 57
// (operator intervention: query_canceled 57014, which a cancel request and
// statement_timeout raise; admin_shutdown 57P01, crash_shutdown 57P02,
// cannot_connect_now 57P03, database_dropped 57P04, ...). False for a code
// that is not well-formed.
bool IsInterruption(std::string_view code);

// Whether an error must propagate unchanged through code that catches
// errors to try something else: interruptions (above), deadlock_detected
// (40P01) and lock_not_available (55P03: lock_timeout, NOWAIT). Any other
// error, serialization_failure (40001) included, may be handled by the
// fallback. False for a code that is not well-formed.
bool MustPropagate(std::string_view code);

}  // namespace ivmx::core
