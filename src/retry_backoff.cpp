// Capped exponential backoff (see include/ivmx/core/retry_backoff.hpp).
#include "ivmx/core/retry_backoff.hpp"

#include <algorithm>

namespace ivmx::core {

int64_t RetryDelayMs(int failures, int64_t first_ms, int64_t cap_ms) {
    if (failures <= 0 || cap_ms <= 0) return 0;
    int64_t delay = std::min<int64_t>(std::max<int64_t>(first_ms, 1), cap_ms);
    // Doubling stops at the cap: the delay never exceeds it, so it cannot
    // overflow, and the loop ends after at most 63 doublings.
    for (int i = 1; i < failures && delay < cap_ms; ++i) delay = delay > cap_ms / 2 ? cap_ms : delay * 2;
    return delay;
}

}  // namespace ivmx::core
