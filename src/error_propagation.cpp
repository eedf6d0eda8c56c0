// Which PostgreSQL errors must reach the user unchanged (see
// include/ivmx/core/error_propagation.hpp).
#include "ivmx/core/error_propagation.hpp"

namespace ivmx::core {

namespace {

// The class of an SQLSTATE: its first two characters.
constexpr std::string_view kOperatorIntervention = "57";

}  // namespace

bool IsWellFormedSqlstate(std::string_view code) {
    if (code.size() != 5) return false;
    for (char c : code)
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) return false;
    return true;
}

bool IsInterruption(std::string_view code) {
    return IsWellFormedSqlstate(code) && code.substr(0, 2) == kOperatorIntervention;
}

bool MustPropagate(std::string_view code) {
    return IsInterruption(code) || code == sqlstate::kDeadlockDetected || code == sqlstate::kLockNotAvailable;
}

}  // namespace ivmx::core
