// The SQL of a deferred refresh on the delta logs: what its conditions and
// FROM-items select, checked on the structure of the text (top-level
// conjuncts, clauses of a SELECT, the parameters it references).
#include <gtest/gtest.h>

#include <cctype>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ivmx/core/deferred_sql.hpp"

using namespace ivmx::core;

namespace {

// Parenthesis depth of every position of sql, quotes and identifiers in
// double quotes skipped (their characters get depth -1).
std::vector<int> Depths(const std::string& sql) {
    std::vector<int> depth(sql.size(), -1);
    int d = 0;
    char quote = 0;
    for (size_t i = 0; i < sql.size(); ++i) {
        const char c = sql[i];
        if (quote) {
            if (c == quote) quote = 0;
            continue;
        }
        if (c == '\'' || c == '"') {
            quote = c;
            continue;
        }
        if (c == '(') ++d;
        depth[i] = d;
        if (c == ')') depth[i] = --d;
    }
    EXPECT_EQ(d, 0) << "unbalanced: " << sql;
    return depth;
}

// Positions of `word` at parenthesis depth 0, as a whole word.
std::vector<size_t> TopLevel(const std::string& sql, const std::string& word) {
    const std::vector<int> depth = Depths(sql);
    std::vector<size_t> found;
    for (size_t at = sql.find(word); at != std::string::npos; at = sql.find(word, at + 1)) {
        // A keyword is a whole word; punctuation stands alone.
        const bool alpha = std::isalpha(static_cast<unsigned char>(word.front()));
        const bool starts = !alpha || at == 0 || !std::isalnum(static_cast<unsigned char>(sql[at - 1]));
        const size_t after = at + word.size();
        const bool ends = !alpha || after >= sql.size() || !std::isalnum(static_cast<unsigned char>(sql[after]));
        if (starts && ends && depth[at] == 0) found.push_back(at);
    }
    return found;
}

std::string Trim(const std::string& s) {
    const size_t b = s.find_first_not_of(' ');
    const size_t e = s.find_last_not_of(' ');
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// The operands of a top-level AND (or OR).
std::vector<std::string> Split(const std::string& sql, const std::string& op) {
    std::vector<std::string> parts;
    size_t from = 0;
    for (size_t at : TopLevel(sql, op)) {
        parts.push_back(Trim(sql.substr(from, at - from)));
        from = at + op.size();
    }
    parts.push_back(Trim(sql.substr(from)));
    return parts;
}

// s without the parentheses around all of it, if it has them (any number).
std::string Unwrap(const std::string& s) {
    if (s.size() < 2 || s.front() != '(' || s.back() != ')') return s;
    const std::vector<int> depth = Depths(s);
    for (size_t i = 1; i + 1 < s.size(); ++i)
        if (depth[i] == 0) return s;  // "(a) AND (b)"
    return Unwrap(Trim(s.substr(1, s.size() - 2)));
}

// The clauses of a SELECT (or DELETE) at its top level: the text after each
// keyword up to the next.
struct Select {
    std::string list, from, where, group_by, having;
};
Select Clauses(const std::string& sql) {
    const std::vector<std::pair<std::string, std::string Select::*>> keywords = {{"SELECT", &Select::list},
                                                                                 {"FROM", &Select::from},
                                                                                 {"WHERE", &Select::where},
                                                                                 {"GROUP BY", &Select::group_by},
                                                                                 {"HAVING", &Select::having}};
    std::vector<std::pair<size_t, size_t>> marks;  // position, keyword index
    for (size_t k = 0; k < keywords.size(); ++k) {
        const auto at = TopLevel(sql, keywords[k].first);
        if (!at.empty()) marks.push_back({at.front(), k});
    }
    std::sort(marks.begin(), marks.end());
    Select out;
    for (size_t m = 0; m < marks.size(); ++m) {
        const size_t begin = marks[m].first + keywords[marks[m].second].first.size();
        const size_t end = m + 1 < marks.size() ? marks[m + 1].first : sql.size();
        out.*keywords[marks[m].second].second = Trim(sql.substr(begin, end - begin));
    }
    return out;
}

// The parameters ($n) a text references.
std::set<std::string> Parameters(const std::string& sql) {
    std::set<std::string> found;
    for (size_t i = 0; i < sql.size(); ++i) {
        if (sql[i] != '$') continue;
        size_t j = i + 1;
        while (j < sql.size() && std::isdigit(static_cast<unsigned char>(sql[j]))) ++j;
        if (j > i + 1) found.insert(sql.substr(i, j - i));
    }
    return found;
}

// The body of the WITH query "name AS MATERIALIZED (body)".
std::string WithBody(const std::string& with, const std::string& name) {
    const std::string head = name + " AS MATERIALIZED ";
    EXPECT_EQ(with.rfind(head, 0), 0u) << with;
    return Unwrap(with.substr(head.size()));
}

const std::string kPending = "NOT pg_catalog.pg_visible_in_snapshot(__ivm_xid, $1)";

}  // namespace

TEST(DeferredSql, PendingIsNotInTheWatermarkOrALaterRowOfAPartlyAppliedTransaction) {
    EXPECT_EQ(PendingCondition("$1", std::nullopt), kPending);
    const std::string pending = PendingCondition("$1", PartialApplied{"$2", "$3"});
    // One parenthesized OR, so that it can be combined with AND safely.
    const std::vector<std::string> either = Split(Unwrap(pending), "OR");
    ASSERT_EQ(either.size(), 2u) << pending;
    EXPECT_NE(Unwrap(pending), pending);
    EXPECT_EQ(either[0], kPending);
    EXPECT_EQ(Split(Unwrap(either[1]), "AND"), (std::vector<std::string>{"__ivm_xid = $2", "__ivm_seq > $3"}));
    EXPECT_EQ(Parameters(pending), (std::set<std::string>{"$1", "$2", "$3"}));
}

TEST(DeferredSql, ConsumedIsPendingAndVisibleAtTheBatchEnd) {
    // The whole batch: the pending rows, as they are.
    EXPECT_EQ(ConsumedCondition(kPending, std::nullopt), kPending);
    // A split batch: both conditions hold, whatever the pending condition's
    // own operators (an OR in it must not escape the conjunction).
    const std::string pending = PendingCondition("$1", PartialApplied{"$2", "$3"});
    const std::string consumed = ConsumedCondition(pending, std::string("$4"));
    const std::vector<std::string> both = Split(consumed, "AND");
    ASSERT_EQ(both.size(), 2u) << consumed;
    EXPECT_EQ(Unwrap(both[0]), Unwrap(pending));
    EXPECT_EQ(both[1], "pg_visible_in_snapshot(__ivm_xid, $4)");
    EXPECT_TRUE(Split(consumed, "OR").size() == 1) << "an OR at the top level: " << consumed;
    // Any pending condition is kept whole.
    const std::vector<std::string> any = Split(ConsumedCondition("$1 OR $2", std::string("$3")), "AND");
    ASSERT_EQ(any.size(), 2u);
    EXPECT_EQ(any[0], "($1 OR $2)");
}

TEST(DeferredSql, LaterRowsArePendingAndNotVisibleAtTheBatchEnd) {
    const std::string pending = PendingCondition("$1", PartialApplied{"$2", "$3"});
    const std::vector<std::string> both = Split(LaterCondition(pending, "$4"), "AND");
    ASSERT_EQ(both.size(), 2u);
    EXPECT_EQ(Unwrap(both[0]), Unwrap(pending));
    EXPECT_EQ(both[1], "NOT " + VisibleIn("$4"));
}

TEST(DeferredSql, ValuesAreParametersNeverSplicedText) {
    const std::string pending = PendingCondition("$1", PartialApplied{"$2", "$3"});
    const LogColumnsRead read{"ivmx.\"delta_1\"", {"\"a\"", "\"b\""}, true};
    const std::vector<std::string> texts = {ConsumedCondition(pending, std::string("$4")),
                                            PendingSummaryQuery(read.source, pending, "$5"),
                                            BatchEndCountQuery(read.source, pending, {"$4", "$5"}),
                                            NettedLog(read, pending, "__ivm_log0"),
                                            LoggedSide(read, pending, +1),
                                            DeleteAppliedRows(read.source, AppliedByAll({pending}))};
    for (const auto& text : texts) {
        EXPECT_EQ(text.find('\''), std::string::npos) << "a literal in " << text;
        for (const auto& p : Parameters(text)) EXPECT_LE(p, "$5") << text;
        EXPECT_TRUE(Parameters(text).count("$1")) << text;
    }
}

TEST(DeferredSql, LoggedSideKeepsTheConsumedRowsOfOneSign) {
    const LogColumnsRead read{"__ivm_batch_7", {"\"a\"", "\"b\""}, true};
    const std::string pending = PendingCondition("$1", PartialApplied{"$2", "$3"});
    for (int sign : {+1, -1}) {
        const Select side = Clauses(Unwrap(LoggedSide(read, pending, sign)));
        EXPECT_EQ(side.list, "\"a\", \"b\"");
        EXPECT_EQ(side.from, "__ivm_batch_7");
        const std::vector<std::string> both = Split(side.where, "AND");
        ASSERT_EQ(both.size(), 2u) << side.where;
        EXPECT_EQ(Unwrap(both[0]), Unwrap(pending));
        EXPECT_EQ(both[1], sign > 0 ? "__ivm_sign > 0" : "__ivm_sign < 0");
    }
}

TEST(DeferredSql, NettingByValueGroupsByEveryColumnReadAndKeepsNonZeroSignSums) {
    const LogColumnsRead read{"__ivm_batch_7", {"\"a\"", "\"b\"", "\"c\""}, true};
    const Select netted = Clauses(WithBody(NettedLog(read, "true", "__ivm_log0"), "__ivm_log0"));
    EXPECT_EQ(Split(netted.group_by, ","), (std::vector<std::string>{"\"a\"", "\"b\"", "\"c\""}));
    EXPECT_EQ(Split(netted.list, ","),
              (std::vector<std::string>{"\"a\"", "\"b\"", "\"c\"", "sum(__ivm_sign) AS __ivm_n"}));
    EXPECT_EQ(netted.having, "sum(__ivm_sign) <> 0");
    EXPECT_EQ(netted.from, "__ivm_batch_7");
    EXPECT_EQ(netted.where, "true");
}

TEST(DeferredSql, NettingByImageCancelsRowsOfOppositeSignsWithTheSameImage) {
    const LogColumnsRead read{"__ivm_batch_7", {"\"a\"", "\"b\""}, false};
    const Select outer = Clauses(WithBody(NettedLog(read, "$1 IS NULL", "__ivm_log0"), "__ivm_log0"));
    EXPECT_EQ(Split(outer.list, ","), (std::vector<std::string>{"\"a\"", "\"b\"", "__ivm_sign AS __ivm_n"}));
    EXPECT_TRUE(outer.group_by.empty());
    // A row is kept when its rank among the rows of its sign and image
    // exceeds the number of rows of the other sign with that image.
    EXPECT_EQ(Split(outer.from, "AS").back(), "__ivm_w");
    const Select ranked = Clauses(Unwrap(Trim(outer.from.substr(0, outer.from.rfind(" AS ")))));
    const std::vector<std::string> columns = Split(ranked.list, ",");
    EXPECT_NE(std::find(columns.begin(), columns.end(),
                        "row_number() OVER (PARTITION BY __ivm_img, __ivm_sign ORDER BY __ivm_seq) AS __ivm_rn"),
              columns.end());
    EXPECT_NE(std::find(columns.begin(), columns.end(),
                        "count(*) FILTER (WHERE __ivm_sign > 0) OVER (PARTITION BY __ivm_img) AS __ivm_ins"),
              columns.end());
    EXPECT_NE(std::find(columns.begin(), columns.end(),
                        "count(*) FILTER (WHERE __ivm_sign < 0) OVER (PARTITION BY __ivm_img) AS __ivm_del"),
              columns.end());
    EXPECT_EQ(outer.where, "__ivm_rn > CASE WHEN __ivm_sign > 0 THEN __ivm_del ELSE __ivm_ins END");
    // The image is that of every column read, over the consumed rows only.
    const Select rows = Clauses(Unwrap(Trim(ranked.from.substr(0, ranked.from.rfind(" AS ")))));
    const std::vector<std::string> inner = Split(rows.list, ",");
    EXPECT_EQ(inner.back(), "CAST(ROW(\"a\", \"b\") AS text) AS __ivm_img");
    EXPECT_EQ(rows.from, "__ivm_batch_7");
    EXPECT_EQ(rows.where, "$1 IS NULL");
}

TEST(DeferredSql, NettedSidesRepeatRowsByTheirCountUnlessKeyed) {
    const std::vector<std::string> columns = {"\"a\"", "\"b\""};
    const Select added = Clauses(Unwrap(NettedSide("__ivm_log0", columns, +1, false)));
    EXPECT_EQ(Split(added.list, ","), (std::vector<std::string>{"__ivm_c.\"a\"", "__ivm_c.\"b\""}));
    EXPECT_EQ(Split(added.from, ","),
              (std::vector<std::string>{"__ivm_log0 AS __ivm_c", "generate_series(1, abs(__ivm_c.__ivm_n))"}));
    EXPECT_EQ(added.where, "__ivm_c.__ivm_n > 0");
    const Select removed = Clauses(Unwrap(NettedSide("__ivm_log0", columns, -1, true)));
    EXPECT_EQ(removed.from, "__ivm_log0 AS __ivm_c");
    EXPECT_EQ(removed.where, "__ivm_c.__ivm_n < 0");
}

TEST(DeferredSql, PendingSummaryCountsThePendingRowsOfALog) {
    const Select summary = Clauses(PendingSummaryQuery("ivmx.\"delta_1\"", kPending, "$2"));
    EXPECT_EQ(Split(summary.list, ","), (std::vector<std::string>{"count(*)", "min(__ivm_xid)::text",
                                                                  "max(__ivm_seq) FILTER (WHERE __ivm_xid = $2)"}));
    EXPECT_EQ(summary.from, "ivmx.\"delta_1\"");
    EXPECT_EQ(summary.where, kPending);
    EXPECT_TRUE(summary.group_by.empty());  // one row
}

TEST(DeferredSql, BatchEndCountsOnePendingCountPerMarkInOrder) {
    const Select counts = Clauses(BatchEndCountQuery("ivmx.\"delta_1\"", kPending, {"$3", "$4", "$5"}));
    EXPECT_EQ(Split(counts.list, ","),
              (std::vector<std::string>{"count(*) FILTER (WHERE pg_visible_in_snapshot(__ivm_xid, $3))",
                                        "count(*) FILTER (WHERE pg_visible_in_snapshot(__ivm_xid, $4))",
                                        "count(*) FILTER (WHERE pg_visible_in_snapshot(__ivm_xid, $5))"}));
    EXPECT_EQ(counts.where, kPending);
}

TEST(DeferredSql, GarbageIsWhatNoConsumerHasPending) {
    const std::string first = PendingCondition("$1", PartialApplied{"$2", "$3"});
    const std::string second = PendingCondition("$4", std::nullopt);
    const std::string applied = AppliedByAll({first, second});
    // Every consumer's pending condition, negated as a whole; NULL (a
    // consumer without a watermark) counts as applied.
    EXPECT_EQ(Split(applied, "AND"),
              (std::vector<std::string>{"(" + first + ") IS NOT TRUE", "(" + second + ") IS NOT TRUE"}));
    EXPECT_EQ(AppliedByAll({}), "true");
    const Select del = Clauses(DeleteAppliedRows("ivmx.\"delta_1\"", applied));
    EXPECT_EQ(del.where, applied);
    EXPECT_EQ(DeleteAppliedRows("ivmx.\"delta_1\"", applied).rfind("DELETE FROM ivmx.\"delta_1\" WHERE ", 0), 0u);
    const std::string all = AllRowsAppliedQuery("ivmx.\"delta_1\"", applied);
    const Select none_left = Clauses(Unwrap(Clauses(all).list.substr(std::string("NOT EXISTS ").size())));
    EXPECT_EQ(none_left.from, "ivmx.\"delta_1\"");
    EXPECT_EQ(none_left.where, "NOT (" + applied + ")");
}

TEST(DeferredSql, BatchRowsCarryTheSignSequenceAndColumnsRead) {
    const Select rows = Clauses(BatchRowsQuery("ivmx.\"delta_1\"", {"\"a\""}, kPending));
    EXPECT_EQ(Split(rows.list, ","), (std::vector<std::string>{"__ivm_sign", "__ivm_seq", "\"a\""}));
    EXPECT_EQ(rows.where, kPending);
    EXPECT_EQ(Clauses(BatchRowsQuery("ivmx.\"delta_1\"", {}, kPending)).list, "__ivm_sign, __ivm_seq");
}
