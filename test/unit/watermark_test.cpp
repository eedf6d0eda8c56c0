// Watermarks of deferred IMMVs and the batching policy.
#include <gtest/gtest.h>

#include <limits>

#include "ivmx/core/watermark.hpp"

using ivmx::core::ConsumedThrough;
using ivmx::core::XidSnapshot;

namespace {
constexpr uint64_t kAll = std::numeric_limits<uint64_t>::max();
}

TEST(Watermark, ParsesAndPrintsPgSnapshotText) {
    auto s = XidSnapshot::Parse("10:20:12,15");
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->ToText(), "10:20:12,15");
    EXPECT_TRUE(s->Visible(11));
    EXPECT_FALSE(s->Visible(12));
    EXPECT_FALSE(s->Visible(20));
    EXPECT_TRUE(XidSnapshot::Parse("5:5:").has_value());
    EXPECT_FALSE(XidSnapshot::Parse("garbage").has_value());
    EXPECT_FALSE(XidSnapshot::Parse("9:5:").has_value());
}

namespace {
const XidSnapshot kNothing = *XidSnapshot::Parse("1:1:");
}

TEST(Watermark, ConsumingEverythingIsTheSnapshotRead) {
    auto seen = *XidSnapshot::Parse("10:20:12,15");
    EXPECT_EQ(ConsumedThrough(seen, kNothing, 0, kAll).ToText(), "12:20:12,15");
}

TEST(Watermark, OwnTransactionCountsAsApplied) {
    auto seen = *XidSnapshot::Parse("10:20:12,15");
    EXPECT_EQ(ConsumedThrough(seen, kNothing, 15, kAll).ToText(), "12:20:12");
    // Own id beyond xmax: the ids in between stay pending.
    auto out = ConsumedThrough(seen, kNothing, 23, kAll);
    EXPECT_TRUE(out.Visible(23));
    EXPECT_FALSE(out.Visible(21));
    EXPECT_FALSE(out.Visible(12));
    EXPECT_TRUE(out.Visible(19));
}

TEST(Watermark, PartialBatchStopsAtBoundary) {
    auto seen = *XidSnapshot::Parse("10:20:12,15");
    auto out = ConsumedThrough(seen, kNothing, 0, 14);
    EXPECT_TRUE(out.Visible(13));
    EXPECT_FALSE(out.Visible(12));
    EXPECT_FALSE(out.Visible(14));
    EXPECT_FALSE(out.Visible(16));
}

TEST(Watermark, PartialBatchKeepsWhatWasAppliedBefore) {
    // 30..39 were applied; transaction 25 committed late and is consumed now
    // alone (boundary 26), while 27 is still pending.
    auto previous = *XidSnapshot::Parse("25:40:25,27");
    auto seen = *XidSnapshot::Parse("45:50:");
    auto out = ConsumedThrough(seen, previous, 0, 26);
    EXPECT_TRUE(out.Visible(25));
    EXPECT_FALSE(out.Visible(27));
    EXPECT_TRUE(out.Visible(35));
    EXPECT_FALSE(out.Visible(42));  // committed but not consumed yet
}

TEST(Watermark, ALaterSnapshotIncludesAnEarlierOne) {
    const auto earlier = *XidSnapshot::Parse("10:20:12,15");
    EXPECT_TRUE(ivmx::core::Includes(earlier, earlier));
    EXPECT_TRUE(ivmx::core::Includes(*XidSnapshot::Parse("15:25:15,21"), earlier));
    EXPECT_TRUE(ivmx::core::Includes(*XidSnapshot::Parse("12:20:12,15"), earlier));
    // 11 is applied in earlier, running in this one.
    EXPECT_FALSE(ivmx::core::Includes(*XidSnapshot::Parse("11:25:11"), earlier));
    // xmax below earlier's: 18 and 19 applied in earlier only.
    EXPECT_FALSE(ivmx::core::Includes(*XidSnapshot::Parse("12:18:12,15"), earlier));
    // ... unless they were running in earlier too.
    EXPECT_TRUE(ivmx::core::Includes(*XidSnapshot::Parse("12:18:12,15"), *XidSnapshot::Parse("12:20:12,15,18,19")));
}

TEST(Watermark, ABatchEndsAtAnEarlierSnapshot) {
    using ivmx::core::SelectBatchEnd;
    // Everything fits: no split.
    EXPECT_EQ(SelectBatchEnd({10, 20}, 30, 100), std::nullopt);
    // The newest snapshot whose batch stays within the limit.
    EXPECT_EQ(SelectBatchEnd({10, 20, 60, 90}, 100, 25), std::optional<size_t>(1));
    // None within the limit: the oldest that makes progress.
    EXPECT_EQ(SelectBatchEnd({0, 40, 60}, 100, 25), std::optional<size_t>(1));
    // No snapshot splits the backlog (none shows a commit, or all do).
    EXPECT_EQ(SelectBatchEnd({0, 0}, 100, 25), std::nullopt);
    EXPECT_EQ(SelectBatchEnd({100}, 100, 25), std::nullopt);
    EXPECT_EQ(SelectBatchEnd({}, 100, 25), std::nullopt);
}

TEST(Watermark, OwnTransactionStaysPendingWhenDeferredModeStarts) {
    auto seen = *XidSnapshot::Parse("10:20:12");
    auto mark = ivmx::core::WithPending(seen, 15);
    EXPECT_FALSE(mark.Visible(15));
    EXPECT_TRUE(mark.Visible(14));
    EXPECT_EQ(mark.ToText(), "10:20:12,15");
    EXPECT_EQ(ivmx::core::WithPending(seen, 25).ToText(), "10:20:12");  // not applied anyway
    EXPECT_EQ(ivmx::core::WithPending(seen, 0).ToText(), "10:20:12");
}
