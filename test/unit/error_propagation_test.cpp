// Which PostgreSQL errors a fallback must let through (core::MustPropagate)
// and which say that the work was asked to stop (core::IsInterruption).
#include <gtest/gtest.h>

#include "ivmx/core/error.hpp"
#include "ivmx/core/error_propagation.hpp"

using ivmx::core::IsInterruption;
using ivmx::core::IsWellFormedSqlstate;
using ivmx::core::MustPropagate;
namespace sqlstate = ivmx::core::sqlstate;

TEST(ErrorPropagation, QueryCancelPropagates) {
    EXPECT_TRUE(IsInterruption(sqlstate::kQueryCanceled));
    EXPECT_TRUE(MustPropagate(sqlstate::kQueryCanceled));
}

TEST(ErrorPropagation, EveryOperatorInterventionPropagates) {
    // admin_shutdown, crash_shutdown, cannot_connect_now, database_dropped,
    // idle_session_timeout, and codes of the class not known today.
    for (const char* code : {"57000", sqlstate::kAdminShutdown, "57P02", "57P03", "57P04", "57P05", "57ZZZ"}) {
        EXPECT_TRUE(IsInterruption(code)) << code;
        EXPECT_TRUE(MustPropagate(code)) << code;
    }
}

TEST(ErrorPropagation, DeadlockAndLockTimeoutPropagateButAreNoInterruption) {
    for (const char* code : {sqlstate::kDeadlockDetected, sqlstate::kLockNotAvailable}) {
        EXPECT_TRUE(MustPropagate(code)) << code;
        EXPECT_FALSE(IsInterruption(code)) << code;
    }
}

TEST(ErrorPropagation, OtherErrorsMayBeHandled) {
    for (const char* code :
         {sqlstate::kSerializationFailure, "40000", "40002", "40P02", sqlstate::kObjectNotInPrerequisiteState, "55006",
          "53200", sqlstate::kProgramLimitExceeded, "22012", "23505", sqlstate::kUndefinedTable,
          sqlstate::kInternalError, sqlstate::kFeatureNotSupported}) {
        EXPECT_FALSE(MustPropagate(code)) << code;
        EXPECT_FALSE(IsInterruption(code)) << code;
    }
}

TEST(ErrorPropagation, MalformedCodesNeverPropagate) {
    for (const char* code : {"", "57", "5701", "570144", "57p01", "57 01", "57P0-"}) {
        EXPECT_FALSE(IsWellFormedSqlstate(code)) << code;
        EXPECT_FALSE(IsInterruption(code)) << code;
        EXPECT_FALSE(MustPropagate(code)) << code;
    }
    EXPECT_TRUE(IsWellFormedSqlstate(sqlstate::kQueryCanceled));
    EXPECT_TRUE(IsWellFormedSqlstate(sqlstate::kInternalError));
}
