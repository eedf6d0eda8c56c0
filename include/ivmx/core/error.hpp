// Errors raised by the PostgreSQL-free core.
//
// The core reports a user-facing problem (an unsupported view, a malformed
// name) as ivmx::core::Error, which carries a PostgreSQL SQLSTATE and the
// message/detail/hint triple of the message style guide. The server glue turns
// it into an ereport with exactly that SQLSTATE.
#pragma once

#include <stdexcept>
#include <string>

namespace ivmx::core {

// Five-character SQLSTATE codes, named as in PostgreSQL's errcodes.txt: the
// one list of the codes pg_ivmx raises or tests for by value, for the core
// and for the server glue (which uses PostgreSQL's ERRCODE_* macros in its
// own ereport calls). A new code goes here, never as a literal.
namespace sqlstate {
inline constexpr const char* kFeatureNotSupported = "0A000";
inline constexpr const char* kNullValueNotAllowed = "22004";
inline constexpr const char* kInvalidParameterValue = "22023";
inline constexpr const char* kDependentObjectsStillExist = "2BP01";
inline constexpr const char* kTriggerProtocolViolated = "39P01";
inline constexpr const char* kSerializationFailure = "40001";
inline constexpr const char* kDeadlockDetected = "40P01";
inline constexpr const char* kSyntaxError = "42601";
inline constexpr const char* kInvalidName = "42602";
inline constexpr const char* kNameTooLong = "42622";
inline constexpr const char* kDuplicateColumn = "42701";
inline constexpr const char* kDuplicateObject = "42710";
inline constexpr const char* kUndefinedTable = "42P01";
inline constexpr const char* kDuplicateTable = "42P07";
inline constexpr const char* kInvalidObjectDefinition = "42P17";
inline constexpr const char* kProgramLimitExceeded = "54000";
inline constexpr const char* kObjectNotInPrerequisiteState = "55000";
inline constexpr const char* kLockNotAvailable = "55P03";
inline constexpr const char* kQueryCanceled = "57014";
inline constexpr const char* kAdminShutdown = "57P01";
inline constexpr const char* kInternalError = "XX000";
}  // namespace sqlstate

class Error : public std::runtime_error {
  public:
    Error(std::string sqlstate, std::string message, std::string detail = {}, std::string hint = {})
        : std::runtime_error(message),
          sqlstate_(std::move(sqlstate)),
          detail_(std::move(detail)),
          hint_(std::move(hint)) {}

    const std::string& sqlstate() const { return sqlstate_; }
    const std::string& detail() const { return detail_; }
    const std::string& hint() const { return hint_; }

  private:
    std::string sqlstate_;
    std::string detail_;
    std::string hint_;
};

// Shorthand for the most common rejection: a view the engine cannot maintain.
inline Error NotSupported(std::string message, std::string detail = {}, std::string hint = {}) {
    return Error(sqlstate::kFeatureNotSupported, std::move(message), std::move(detail), std::move(hint));
}

}  // namespace ivmx::core
