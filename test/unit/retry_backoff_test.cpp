// The retry backoff after failed refreshes (ivmx.naptime first, doubling,
// capped by ivmx.max_retry_interval).
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "ivmx/core/retry_backoff.hpp"

using ivmx::core::RetryDelayMs;

namespace {
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
}

TEST(RetryBackoff, NoDelayWithoutFailures) {
    EXPECT_EQ(RetryDelayMs(0, 1000, 60000), 0);
    EXPECT_EQ(RetryDelayMs(-3, 1000, 60000), 0);
}

TEST(RetryBackoff, FirstRetryAfterTheFirstDelay) {
    EXPECT_EQ(RetryDelayMs(1, 1000, 60000), 1000);
}

TEST(RetryBackoff, DoublesWithEveryFurtherFailure) {
    EXPECT_EQ(RetryDelayMs(2, 1000, 60000), 2000);
    EXPECT_EQ(RetryDelayMs(3, 1000, 60000), 4000);
    EXPECT_EQ(RetryDelayMs(6, 1000, 60000), 32000);
}

TEST(RetryBackoff, NeverWaitsLongerThanTheCap) {
    EXPECT_EQ(RetryDelayMs(7, 1000, 60000), 60000);
    EXPECT_EQ(RetryDelayMs(30, 1000, 60000), 60000);
    EXPECT_EQ(RetryDelayMs(std::numeric_limits<int>::max(), 1000, 60000), 60000);
}

TEST(RetryBackoff, DefaultSettingsGiveTheDocumentedSequence) {
    // ivmx.naptime = 1s, ivmx.max_retry_interval = 5min.
    const int64_t expected[] = {1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000, 300000};
    for (int failures = 1; failures <= 11; ++failures)
        EXPECT_EQ(RetryDelayMs(failures, 1000, 300000), expected[failures - 1]) << failures << " failures";
}

TEST(RetryBackoff, CapBelowTheFirstDelayWins) {
    EXPECT_EQ(RetryDelayMs(1, 5000, 100), 100);
    EXPECT_EQ(RetryDelayMs(4, 5000, 100), 100);
}

TEST(RetryBackoff, FirstDelayBelowOneMillisecondCountsAsOne) {
    EXPECT_EQ(RetryDelayMs(1, 0, 60000), 1);
    EXPECT_EQ(RetryDelayMs(3, -50, 60000), 4);
}

TEST(RetryBackoff, NoPositiveCapMeansNoDelay) {
    EXPECT_EQ(RetryDelayMs(3, 1000, 0), 0);
    EXPECT_EQ(RetryDelayMs(3, 1000, -1), 0);
}

TEST(RetryBackoff, DoesNotOverflowNearTheLimitsOfTheType) {
    EXPECT_EQ(RetryDelayMs(std::numeric_limits<int>::max(), 1000, kMax), kMax);
    EXPECT_EQ(RetryDelayMs(100, kMax / 2 + 1, kMax), kMax);
    EXPECT_EQ(RetryDelayMs(2, kMax / 2, kMax), kMax - 1);
    EXPECT_EQ(RetryDelayMs(63, 1, kMax), int64_t{1} << 62);  // 62 doublings
    EXPECT_EQ(RetryDelayMs(64, 1, kMax), kMax);              // a 63rd would pass the cap
}
