// ParseImmvName: PostgreSQL identifier rules for create_immv's name argument.
#include <gtest/gtest.h>

#include "ivmx/core/error.hpp"
#include "ivmx/core/immv_name.hpp"

using ivmx::core::Error;
using ivmx::core::ParseImmvName;

TEST(ImmvName, UnquotedFoldsToLowerCase) {
    auto n = ParseImmvName("  MyView ");
    EXPECT_EQ(n.schema, "");
    EXPECT_EQ(n.name, "myview");
    EXPECT_TRUE(n.column_names.empty());
}

TEST(ImmvName, SchemaAndColumns) {
    auto n = ParseImmvName("s1.mv(a, \"B c\",d$1)");
    EXPECT_EQ(n.schema, "s1");
    EXPECT_EQ(n.name, "mv");
    ASSERT_EQ(n.column_names.size(), 3u);
    EXPECT_EQ(n.column_names[1], "B c");
    EXPECT_EQ(n.column_names[2], "d$1");
}

TEST(ImmvName, QuotedKeepsCaseAndEscapes) {
    auto n = ParseImmvName("\"My \"\"odd\"\" view\"");
    EXPECT_EQ(n.name, "My \"odd\" view");
}

TEST(ImmvName, RejectsMalformedNames) {
    for (const char* bad :
         {"", "a.", "a.b.c", "mv(", "mv(a,", "mv)", "1abc", "mv junk", "\"\"", "\"open", "mv(a) x", "a;drop table t"}) {
        try {
            ParseImmvName(bad);
            ADD_FAILURE() << "accepted " << bad;
        } catch (const Error& e) {
            EXPECT_EQ(e.sqlstate(), ivmx::core::sqlstate::kInvalidName) << bad;
            EXPECT_NE(std::string(e.what()).find("invalid IMMV name"), std::string::npos);
        }
    }
}

TEST(ImmvName, RejectsOverlongIdentifier) {
    try {
        ParseImmvName(std::string(64, 'x'));
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_EQ(e.sqlstate(), ivmx::core::sqlstate::kNameTooLong);
    }
    EXPECT_EQ(ParseImmvName(std::string(63, 'x')).name.size(), 63u);
}
