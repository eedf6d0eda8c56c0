// Implementation of the C++/PostgreSQL error guards (see include/ivmx/pg/guards.hpp).
#include "ivmx/pg/guards.hpp"

#include <new>

#include "ivmx/core/error.hpp"

namespace ivmx::pg {

namespace {

std::string CopyOrEmpty(const char* s) { return s != nullptr ? std::string(s) : std::string(); }

char* PstrdupOrNull(const std::string& s) { return s.empty() ? nullptr : pstrdup(s.c_str()); }

int SqlstateFromString(const std::string& code) {
    if (code.size() != 5) return ERRCODE_INTERNAL_ERROR;
    return MAKE_SQLSTATE(code[0], code[1], code[2], code[3], code[4]);
}

}  // namespace

PgError::PgError(const ErrorData* edata)
    : sqlerrcode(edata->sqlerrcode),
      elevel(edata->elevel),
      message_(CopyOrEmpty(edata->message)),
      detail(CopyOrEmpty(edata->detail)),
      hint(CopyOrEmpty(edata->hint)),
      context(CopyOrEmpty(edata->context)),
      internal_query(CopyOrEmpty(edata->internalquery)),
      internal_pos(edata->internalpos),
      cursor_pos(edata->cursorpos) {}

void RethrowPgErrorAsException(const PgCallFrame& frame) {
    PG_exception_stack = frame.saved_exception_stack;
    error_context_stack = frame.saved_context_stack;
    MemoryContextSwitchTo(frame.saved_memory_context);
    ErrorData* edata = CopyErrorData();
    FlushErrorState();
    PgError error(edata);
    FreeErrorData(edata);
    throw error;
}

ErrorData* ErrorDataFromCurrentException() noexcept {
    ErrorData* edata = static_cast<ErrorData*>(palloc0(sizeof(ErrorData)));
    edata->elevel = ERROR;
    try {
        throw;
    } catch (const PgError& e) {
        edata->sqlerrcode = e.sqlerrcode;
        edata->message = PstrdupOrNull(e.message_);
        edata->detail = PstrdupOrNull(e.detail);
        edata->hint = PstrdupOrNull(e.hint);
        edata->context = PstrdupOrNull(e.context);
        edata->internalquery = PstrdupOrNull(e.internal_query);
        edata->internalpos = e.internal_pos;
        edata->cursorpos = e.cursor_pos;
    } catch (const ivmx::core::Error& e) {
        edata->sqlerrcode = SqlstateFromString(e.sqlstate());
        edata->message = pstrdup(e.what());
        edata->detail = PstrdupOrNull(e.detail());
        edata->hint = PstrdupOrNull(e.hint());
    } catch (const std::bad_alloc&) {
        edata->sqlerrcode = ERRCODE_OUT_OF_MEMORY;
        edata->message = pstrdup("out of memory");
    } catch (const std::exception& e) {
        edata->sqlerrcode = ERRCODE_INTERNAL_ERROR;
        edata->message = psprintf("pg_ivmx internal error: %s", e.what());
    } catch (...) {
        edata->sqlerrcode = ERRCODE_INTERNAL_ERROR;
        edata->message = pstrdup("pg_ivmx internal error: unknown exception");
    }
    if (edata->message == nullptr) edata->message = pstrdup("unknown error");
    return edata;
}

void RaiseErrorData(ErrorData* edata) {
    // A converted PostgreSQL error already carries the context of every frame
    // it crossed, the callers' included: do not have them add it again.
    if (edata->context != nullptr) error_context_stack = nullptr;
    ThrowErrorData(edata);
    // ThrowErrorData returns only for elevels below ERROR; ours is ERROR.
    pg_unreachable();
}

}  // namespace ivmx::pg
