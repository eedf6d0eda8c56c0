// The named SQLSTATE codes (core::sqlstate) are the codes PostgreSQL defines
// for those conditions (src/backend/utils/errcodes.txt): a client matching
// on a code sees what PostgreSQL itself would raise. Every other file names
// a code by its constant; the values are checked here, once.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ivmx/core/error.hpp"
#include "ivmx/core/error_propagation.hpp"

namespace sqlstate = ivmx::core::sqlstate;

namespace {

// Each constant with the code errcodes.txt gives its condition.
const std::vector<std::pair<const char*, const char*>>& NamedCodes() {
    static const std::vector<std::pair<const char*, const char*>> codes = {
        {sqlstate::kFeatureNotSupported, "0A000"},
        {sqlstate::kNullValueNotAllowed, "22004"},
        {sqlstate::kInvalidParameterValue, "22023"},
        {sqlstate::kDependentObjectsStillExist, "2BP01"},
        {sqlstate::kTriggerProtocolViolated, "39P01"},
        {sqlstate::kSerializationFailure, "40001"},
        {sqlstate::kDeadlockDetected, "40P01"},
        {sqlstate::kSyntaxError, "42601"},
        {sqlstate::kInvalidName, "42602"},
        {sqlstate::kNameTooLong, "42622"},
        {sqlstate::kDuplicateColumn, "42701"},
        {sqlstate::kDuplicateObject, "42710"},
        {sqlstate::kUndefinedTable, "42P01"},
        {sqlstate::kInvalidObjectDefinition, "42P17"},
        {sqlstate::kProgramLimitExceeded, "54000"},
        {sqlstate::kObjectNotInPrerequisiteState, "55000"},
        {sqlstate::kLockNotAvailable, "55P03"},
        {sqlstate::kQueryCanceled, "57014"},
        {sqlstate::kAdminShutdown, "57P01"},
        {sqlstate::kInternalError, "XX000"},
    };
    return codes;
}

}  // namespace

TEST(Sqlstate, NamedCodesArePostgresqlCodes) {
    for (const auto& [constant, code] : NamedCodes()) EXPECT_STREQ(constant, code);
}

TEST(Sqlstate, NamedCodesAreWellFormedAndDistinct) {
    std::set<std::string> seen;
    for (const auto& [constant, code] : NamedCodes()) {
        EXPECT_TRUE(ivmx::core::IsWellFormedSqlstate(constant)) << constant;
        EXPECT_TRUE(seen.insert(constant).second) << constant << " is named twice";
    }
}
