// When to try again after failures: the capped exponential backoff of
// pg_ivmx's retries. A deferred IMMV whose refresh failed is retried after
// ivmx.naptime, then after twice as long with every further consecutive
// failure, never waiting more than ivmx.max_retry_interval.
//
// PostgreSQL-free (part of the core), so that the rule is unit-tested on its
// own; the server glue only supplies the settings and records the result.
#pragma once

#include <cstdint>

namespace ivmx::core {

// The delay, in milliseconds, before the next attempt after `failures`
// consecutive failures: first_ms after the first, doubled with each further
// failure, never more than cap_ms.
//  * 0 when nothing failed (failures <= 0) or cap_ms <= 0;
//  * a first_ms below 1 counts as 1; a cap_ms below first_ms wins over it;
//  * exact and without overflow for any number of failures and any cap.
int64_t RetryDelayMs(int failures, int64_t first_ms, int64_t cap_ms);

}  // namespace ivmx::core
