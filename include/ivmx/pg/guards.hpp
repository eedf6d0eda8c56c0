// The two guards of the C++/PostgreSQL boundary.
//
// 1. PgCall(f): C++ code calling into PostgreSQL. A PostgreSQL ERROR is a
//    longjmp; PgCall catches it with sigsetjmp, restores the error context
//    stack and memory context, copies the error data and throws PgError, so
//    that C++ destructors run normally. The transaction is then in an aborted
//    state as far as PostgreSQL is concerned: the error must be re-raised to
//    PostgreSQL (EntryGuard does it), never swallowed.
//
// 2. EntryGuard(f): PostgreSQL calling into C++ (fmgr functions, triggers,
//    hooks). Catches every C++ exception and, once the C++ frames are gone,
//    raises it with ereport(ERROR), keeping the SQLSTATE, detail and hint of
//    a PgError or ivmx::core::Error.
#pragma once

#include <exception>
#include <string>
#include <type_traits>
#include <utility>

#include "ivmx/pg/postgres.hpp"

namespace ivmx::pg {

// A PostgreSQL error converted into a C++ exception. Owns copies of the
// fields (no palloc'd memory), so it may outlive any memory context.
class PgError : public std::exception {
  public:
    explicit PgError(const ErrorData* edata);
    const char* what() const noexcept override { return message_.c_str(); }

    int sqlerrcode = 0;
    int elevel = ERROR;
    std::string message_;
    std::string detail;
    std::string hint;
    std::string context;
    std::string internal_query;
    int internal_pos = 0;
    int cursor_pos = 0;
};

// State saved by PgCall before running PostgreSQL code.
struct PgCallFrame {
    sigjmp_buf* saved_exception_stack;
    ErrorContextCallback* saved_context_stack;
    MemoryContext saved_memory_context;
};

// Converts the current PostgreSQL error (after a longjmp into PgCall) into a
// PgError and throws it. Restores the state saved in frame first.
[[noreturn]] void RethrowPgErrorAsException(const PgCallFrame& frame);

template <typename F>
auto PgCall(F&& f) -> decltype(f()) {
    using Result = decltype(f());
    PgCallFrame frame{PG_exception_stack, error_context_stack, CurrentMemoryContext};
    sigjmp_buf local_jmp;
    if (sigsetjmp(local_jmp, 0) != 0) RethrowPgErrorAsException(frame);
    PG_exception_stack = &local_jmp;
    // f may also throw a C++ exception of its own (it must not let one cross
    // a PostgreSQL frame): restore the PostgreSQL state on the way out.
    try {
        if constexpr (std::is_void_v<Result>) {
            f();
            PG_exception_stack = frame.saved_exception_stack;
        } else {
            Result result = f();
            PG_exception_stack = frame.saved_exception_stack;
            return result;
        }
    } catch (...) {
        PG_exception_stack = frame.saved_exception_stack;
        error_context_stack = frame.saved_context_stack;
        throw;
    }
}

// Describes the exception being handled as an ErrorData, for ThrowErrorData
// (RaiseErrorData) or a report (CallbackGuard). Called only from inside a
// catch block; never raises a PostgreSQL error. The ErrorData is allocated
// in the current memory context, its strings too, except constant messages
// ("out of memory", ...): fields that cannot be copied for want of memory
// are left out, and when not even the ErrorData can be allocated, the
// result is a static description of an out-of-memory error. Read it only:
// never modify it or free it (FreeErrorData), it may be static.
ErrorData* ErrorDataFromCurrentException() noexcept;

// Raises edata with ereport semantics; never returns.
[[noreturn]] void RaiseErrorData(ErrorData* edata);

// Runs body (which returns Datum, or void) for an entry point called by
// PostgreSQL; converts escaping C++ exceptions to PostgreSQL errors.
template <typename F>
Datum EntryGuard(F&& body) {
    ErrorData* pending = nullptr;
    Datum result = (Datum)0;
    try {
        if constexpr (std::is_void_v<decltype(body())>) {
            body();
        } else {
            result = body();
        }
    } catch (...) {
        pending = ErrorDataFromCurrentException();
    }
    if (pending != nullptr) RaiseErrorData(pending);
    return result;
}

}  // namespace ivmx::pg
