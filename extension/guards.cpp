// Implementation of the C++/PostgreSQL error guards (see include/ivmx/pg/guards.hpp).
#include "ivmx/pg/guards.hpp"

#include <new>

#include "ivmx/core/error.hpp"

namespace ivmx::pg {

namespace {

std::string CopyOrEmpty(const char* s) {
    return s != nullptr ? std::string(s) : std::string();
}

// Memory for ErrorDataFromCurrentException, which runs inside a C++ catch
// handler: a PostgreSQL ERROR there (palloc's out of memory) would longjmp
// out of the handler, leaving the C++ runtime's record of the exception
// being handled behind. These never raise: they return nullptr instead.
void* AllocOrNull(size_t size) {
    return MemoryContextAllocExtended(CurrentMemoryContext, size, MCXT_ALLOC_NO_OOM | MCXT_ALLOC_ZERO);
}

// A palloc'd copy of the concatenation of a and b (either may be null), or
// nullptr when both are empty or memory is short.
char* ConcatOrNull(const char* a, const char* b = nullptr) {
    const size_t len_a = a != nullptr ? strlen(a) : 0;
    const size_t len_b = b != nullptr ? strlen(b) : 0;
    if (len_a + len_b == 0) return nullptr;
    char* out = static_cast<char*>(AllocOrNull(len_a + len_b + 1));
    if (out == nullptr) return nullptr;
    if (len_a > 0) memcpy(out, a, len_a);
    if (len_b > 0) memcpy(out + len_a, b, len_b);
    out[len_a + len_b] = '\0';
    return out;
}

char* CopyOrNull(const std::string& s) {
    return ConcatOrNull(s.c_str());
}

int SqlstateFromString(const std::string& code) {
    if (code.size() != 5) return ERRCODE_INTERNAL_ERROR;
    return MAKE_SQLSTATE(code[0], code[1], code[2], code[3], code[4]);
}

// What is reported when not even the ErrorData could be allocated. Static:
// ThrowErrorData only reads it.
ErrorData g_out_of_memory = [] {
    ErrorData edata{};
    edata.elevel = ERROR;
    edata.sqlerrcode = ERRCODE_OUT_OF_MEMORY;
    edata.message = const_cast<char*>("out of memory");
    return edata;
}();

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

// Never raises a PostgreSQL error (see AllocOrNull): fields that cannot be
// copied for want of memory are left out, and without memory for the
// ErrorData itself an out-of-memory error is described instead.
ErrorData* ErrorDataFromCurrentException() noexcept {
    auto* edata = static_cast<ErrorData*>(AllocOrNull(sizeof(ErrorData)));
    if (edata == nullptr) return &g_out_of_memory;
    edata->elevel = ERROR;
    try {
        throw;
    } catch (const PgError& e) {
        edata->sqlerrcode = e.sqlerrcode;
        edata->message = CopyOrNull(e.message_);
        edata->detail = CopyOrNull(e.detail);
        edata->hint = CopyOrNull(e.hint);
        edata->context = CopyOrNull(e.context);
        edata->internalquery = CopyOrNull(e.internal_query);
        edata->internalpos = e.internal_pos;
        edata->cursorpos = e.cursor_pos;
    } catch (const ivmx::core::Error& e) {
        edata->sqlerrcode = SqlstateFromString(e.sqlstate());
        edata->message = ConcatOrNull(e.what());
        edata->detail = CopyOrNull(e.detail());
        edata->hint = CopyOrNull(e.hint());
    } catch (const std::bad_alloc&) {
        edata->sqlerrcode = ERRCODE_OUT_OF_MEMORY;
        edata->message = const_cast<char*>("out of memory");
    } catch (const std::exception& e) {
        edata->sqlerrcode = ERRCODE_INTERNAL_ERROR;
        edata->message = ConcatOrNull("pg_ivmx internal error: ", e.what());
    } catch (...) {
        edata->sqlerrcode = ERRCODE_INTERNAL_ERROR;
        edata->message = const_cast<char*>("pg_ivmx internal error: unknown exception");
    }
    if (edata->message == nullptr) edata->message = const_cast<char*>("unknown error");
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
