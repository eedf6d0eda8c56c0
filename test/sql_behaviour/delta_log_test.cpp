// The SQL of a deferred refresh (src/deferred_sql.cpp, and RelationBefore of
// src/sql_writer.cpp) run on delta logs filled by hand: which rows each
// condition selects, what netting leaves, what the summaries count and
// which rows the cleanup deletes, checked row by row against a model
// computed here.
//
// Transaction ids are made up (1000 and up) and snapshots written as
// pg_snapshot text (xid_model.hpp): pg_visible_in_snapshot depends on
// nothing else, so any order of commits can be modelled.
#include <algorithm>
#include <map>
#include <set>

#include "harness.hpp"
#include "ivmx/core/deferred_sql.hpp"
#include "ivmx/core/sql_text.hpp"
#include "ivmx/core/sql_writer.hpp"
#include "xid_model.hpp"

namespace ivmx::sqlb {
namespace {

constexpr uint64_t kFirstXid = 1000;
constexpr uint64_t kXids = 12;

// One row of the log s.lg (a int, b text, c numeric, f double precision).
struct LogRow {
    int64_t seq;
    uint64_t xid;
    int sign;
    Value a, b, c, f;
};

// What a consumer (a deferred IMMV) has applied.
struct Consumer {
    std::optional<Snap> watermark;  // nullopt: none (NULL)
    std::optional<Partial> partial;
};

// The model of PendingCondition: TRUE for a row not applied (NULL or false
// otherwise: both select nothing).
bool Pending(const Consumer& c, const LogRow& r) {
    return PendingFor(c.watermark ? &*c.watermark : nullptr, c.partial ? &*c.partial : nullptr, r.xid, r.seq);
}

class DeltaLogSql : public BehaviourTest {
  protected:
    void SetUp() override {
        BehaviourTest::SetUp();
        Db().Exec(
            "CREATE TABLE s.lg (__ivm_xid xid8 NOT NULL, __ivm_sign smallint NOT NULL, __ivm_time timestamptz NOT NULL "
            "DEFAULT now(), __ivm_seq bigint NOT NULL, a integer, b text, c numeric, f double precision)");
    }

    Snap RandomSnap() {
        Snap s;
        s.xmin = kFirstXid - 2 + static_cast<uint64_t>(gen().Int(0, kXids + 3));
        s.xmax = s.xmin + static_cast<uint64_t>(gen().Int(0, 6));
        for (uint64_t x = s.xmin; x < s.xmax; ++x)
            if (gen().Chance(0.35)) s.xip.push_back(x);
        return s;
    }

    Value Maybe(double null_share, const std::vector<std::string>& values) {
        if (gen().Chance(null_share)) return std::nullopt;
        return gen().Pick(values);
    }

    // A fresh log of `n` random rows (values from small domains, so that
    // rows repeat).
    void FillLog(int n) {
        rows_.clear();
        Db().Exec("TRUNCATE s.lg");
        std::vector<std::string> tuples;
        for (int i = 1; i <= n; ++i) {
            LogRow r{i,
                     kFirstXid + static_cast<uint64_t>(gen().Int(0, kXids - 1)),
                     gen().Chance(0.55) ? 1 : -1,
                     Maybe(0.15, {"1", "2", "3"}),
                     Maybe(0.15, {"x", "y", "it's", ""}),
                     Maybe(0.15, {"1", "1.0", "1.00", "2.5", "-0"}),
                     Maybe(0.15, {"0", "-0", "0.5", "2"})};
            rows_.push_back(r);
            tuples.push_back(Tuple(r));
        }
        if (!tuples.empty()) Db().Exec("INSERT INTO s.lg VALUES " + core::Join(tuples, ", "));
    }

    static std::string Lit(const Value& v, const std::string& type) { return (v ? Literal(*v) : "NULL") + "::" + type; }
    static std::string Tuple(const LogRow& r) {
        return "('" + std::to_string(r.xid) + "', " + std::to_string(r.sign) + ", now(), " + std::to_string(r.seq) +
               ", " + Lit(r.a, "integer") + ", " + Lit(r.b, "text") + ", " + Lit(r.c, "numeric") + ", " +
               Lit(r.f, "float8") + ")";
    }

    // The sequence numbers of the rows of s.lg for which `condition` holds.
    std::vector<int64_t> Selected(const std::string& condition, const std::vector<Param>& params) {
        std::vector<int64_t> out;
        for (const auto& row : Db().Query("SELECT __ivm_seq FROM s.lg WHERE " + condition + " ORDER BY 1", params).rows)
            out.push_back(std::stoll(*row[0]));
        return out;
    }

    template <typename Pred>
    std::vector<int64_t> Model(Pred pred) const {
        std::vector<int64_t> out;
        for (const auto& r : rows_)
            if (pred(r)) out.push_back(r.seq);
        return out;
    }

    // The pending condition of consumer c with parameters from $first, and
    // their values appended to params.
    static std::string PendingOf(const Consumer& c, int first, std::vector<Param>& params) {
        const std::string w = "$" + std::to_string(first);
        params.push_back({c.watermark ? Value(c.watermark->Text()) : std::nullopt});
        if (!c.partial) return core::PendingCondition(w, std::nullopt);
        params.push_back({std::to_string(c.partial->xid)});
        params.push_back({std::to_string(c.partial->seq)});
        return core::PendingCondition(
            w, core::PartialApplied{"$" + std::to_string(first + 1), "$" + std::to_string(first + 2)});
    }

    Consumer RandomConsumer() {
        Consumer c;
        if (!gen().Chance(0.1)) c.watermark = RandomSnap();
        if (gen().Chance(0.4))
            c.partial = Partial{kFirstXid + static_cast<uint64_t>(gen().Int(0, kXids - 1)),
                                static_cast<int64_t>(gen().Int(0, static_cast<int>(rows_.size())))};
        return c;
    }

    std::string Describe(const Consumer& c) const {
        return "watermark " + (c.watermark ? c.watermark->Text() : std::string("NULL")) +
               (c.partial
                    ? ", partial " + std::to_string(c.partial->xid) + " through seq " + std::to_string(c.partial->seq)
                    : std::string());
    }

    std::string LogText() {
        return sqlb::Describe(
            Db().Query("SELECT __ivm_seq, __ivm_xid, __ivm_sign, a, b, c, f FROM s.lg ORDER BY __ivm_seq"), 200);
    }

    std::vector<LogRow> rows_;
};

// Pending, consumed (up to a batch end) and later rows: each condition
// selects exactly the rows the model says, and a split batch's consumed and
// later rows partition the pending ones.
TEST_F(DeltaLogSql, PendingConsumedAndLaterRowsFollowTheSnapshots) {
    for (int round = 0; round < 40 * Scale(); ++round) {
        FillLog(gen().Int(0, 30));
        for (int k = 0; k < 5; ++k) {
            const Consumer c = RandomConsumer();
            const Snap end = RandomSnap();
            std::vector<Param> params;
            const std::string pending = PendingOf(c, 1, params);
            const std::string end_param = "$" + std::to_string(params.size() + 1);
            std::vector<Param> with_end = params;
            with_end.push_back({end.Text()});
            const auto want_pending = Model([&](const LogRow& r) { return Pending(c, r); });
            const auto want_consumed = Model([&](const LogRow& r) { return Pending(c, r) && end.Visible(r.xid); });
            const auto want_later = Model([&](const LogRow& r) { return Pending(c, r) && !end.Visible(r.xid); });
            const std::string context = Describe(c) + ", batch end " + end.Text() + "\nlog:\n" + LogText() + Repro();
            ASSERT_EQ(Selected(pending, params), want_pending) << "pending rows, " << context;
            ASSERT_EQ(Selected(core::ConsumedCondition(pending, std::nullopt), params), want_pending)
                << "consumed rows of a whole batch, " << context;
            ASSERT_EQ(Selected(core::ConsumedCondition(pending, end_param), with_end), want_consumed)
                << "consumed rows of a split batch, " << context;
            ASSERT_EQ(Selected(core::LaterCondition(pending, end_param), with_end), want_later)
                << "rows left for later, " << context;
        }
    }
}

// A scripted history: transactions committed out of id order, a watermark
// taken while some ran, a transaction that flushed part of its own rows.
TEST_F(DeltaLogSql, ScriptedWatermarkWithRunningAndPartlyAppliedTransactions) {
    // seq: xid
    //  1: 1000 (committed before the watermark)
    //  2: 1002 (running at the watermark, committed later)
    //  3: 1001 (committed before the watermark: visible although 1000 < 1001 < 1002)
    //  4: 1004 (flushed its rows through seq 4 itself, then wrote seq 6)
    //  5: 1003 (running at the watermark)
    //  6: 1004
    //  7: 1005 (started after the watermark)
    Db().Exec(
        "INSERT INTO s.lg (__ivm_xid, __ivm_sign, __ivm_seq, a) VALUES ('1000', 1, 1, 1), ('1002', 1, 2, 2), "
        "('1001', -1, 3, 3), ('1004', 1, 4, 4), ('1003', 1, 5, 5), ('1004', -1, 6, 6), ('1005', 1, 7, 7)");
    // Watermark: 1000, 1001 and 1004 (the flushing transaction) applied;
    // 1002 and 1003 running.
    const std::string watermark = "1002:1005:1002,1003";
    const std::string pending = core::PendingCondition("$1", core::PartialApplied{"$2", "$3"});
    const std::vector<Param> params{{watermark}, {"1004"}, {"4"}};
    EXPECT_EQ(Selected(pending, params), (std::vector<int64_t>{2, 5, 6, 7})) << Repro();
    // A batch ending where 1002 and 1004 had committed, 1003 still running.
    std::vector<Param> split = params;
    split.push_back({"1003:1005:1003"});
    EXPECT_EQ(Selected(core::ConsumedCondition(pending, std::string("$4")), split), (std::vector<int64_t>{2, 6}));
    EXPECT_EQ(Selected(core::LaterCondition(pending, "$4"), split), (std::vector<int64_t>{5, 7}));
    // Without the partial flush, none of 1004's rows is pending.
    EXPECT_EQ(Selected(core::PendingCondition("$1", std::nullopt), {{watermark}}), (std::vector<int64_t>{2, 5, 7}));
    // A NULL watermark selects nothing by itself.
    EXPECT_EQ(Selected(core::PendingCondition("$1", std::nullopt), {{std::nullopt}}), (std::vector<int64_t>{}));
    EXPECT_EQ(Selected(pending, {{std::nullopt}, {"1004"}, {"4"}}), (std::vector<int64_t>{6}));
}

// The rows of one sign of a batch, as logged.
TEST_F(DeltaLogSql, LoggedSidesHoldTheConsumedRowsOfOneSign) {
    for (int round = 0; round < 15 * Scale(); ++round) {
        FillLog(gen().Int(0, 25));
        const Consumer c = RandomConsumer();
        std::vector<Param> params;
        const std::string pending = PendingOf(c, 1, params);
        const core::LogColumnsRead read{"s.lg", {"\"a\"", "\"b\""}, true};
        for (int sign : {1, -1}) {
            std::multiset<std::string> got, want;
            for (const auto& row :
                 Db().Query("SELECT a, b FROM " + core::LoggedSide(read, pending, sign) + " AS x", params).rows)
                got.insert(row[0].value_or("NULL") + "|" + row[1].value_or("NULL"));
            for (const auto& r : rows_)
                if (Pending(c, r) && r.sign == sign) want.insert(r.a.value_or("NULL") + "|" + r.b.value_or("NULL"));
            ASSERT_EQ(got, want) << "sign " << sign << ", " << Describe(c) << "\nlog:\n" << LogText() << Repro();
        }
    }
}

// Netting by value: per value of the columns read (NULLs equal), the sum of
// the signs, rows whose changes cancel left out; the other columns do not
// count.
TEST_F(DeltaLogSql, NettingByValueSumsTheSignsOfEqualRows) {
    for (int round = 0; round < 25 * Scale(); ++round) {
        FillLog(gen().Int(0, 40));
        const Consumer c = RandomConsumer();
        std::vector<Param> params;
        const std::string consumed = PendingOf(c, 1, params);
        const core::LogColumnsRead read{"s.lg", {"\"a\"", "\"b\""}, true};
        std::map<std::string, int> want;
        for (const auto& r : rows_)
            if (Pending(c, r)) want[r.a.value_or("NULL") + "|" + r.b.value_or("NULL")] += r.sign;
        for (auto it = want.begin(); it != want.end();) it = it->second == 0 ? want.erase(it) : std::next(it);
        std::map<std::string, int> got;
        for (const auto& row :
             Db().Query("WITH " + core::NettedLog(read, consumed, "__n") + " SELECT a, b, __ivm_n FROM __n", params)
                 .rows) {
            const std::string key = row[0].value_or("NULL") + "|" + row[1].value_or("NULL");
            ASSERT_EQ(got.count(key), 0u) << "value netted twice: " << key << Repro();
            got[key] = std::stoi(*row[2]);
        }
        ASSERT_EQ(got, want) << Describe(c) << "\nlog:\n" << LogText() << Repro();
    }
}

// Netting by text image (types whose equality is not identity: numeric
// 1.0 = 1.00, float -0 = 0): rows cancel only when their images are equal;
// per image the rows of the sign in excess remain, one by one.
TEST_F(DeltaLogSql, NettingByImageCancelsOnlyRowsOfEqualText) {
    for (int round = 0; round < 25 * Scale(); ++round) {
        FillLog(gen().Int(0, 40));
        const Consumer c = RandomConsumer();
        std::vector<Param> params;
        const std::string consumed = PendingOf(c, 1, params);
        const core::LogColumnsRead read{"s.lg", {"\"b\"", "\"c\"", "\"f\""}, false};
        // The image of every row, as the server prints it.
        std::map<int64_t, std::string> image;
        for (const auto& row : Db().Query("SELECT __ivm_seq, CAST(ROW(b, c, f) AS text) FROM s.lg").rows)
            image[std::stoll(*row[0])] = *row[1];
        std::map<std::string, int> net;
        for (const auto& r : rows_)
            if (Pending(c, r)) net[image[r.seq]] += r.sign;
        std::multiset<std::string> want;
        for (const auto& [img, n] : net)
            for (int k = 0; k < std::abs(n); ++k) want.insert(img + (n > 0 ? " +1" : " -1"));
        std::multiset<std::string> got;
        for (const auto& row : Db().Query("WITH " + core::NettedLog(read, consumed, "__n") +
                                              " SELECT CAST(ROW(b, c, f) AS text), __ivm_n FROM __n",
                                          params)
                                   .rows)
            got.insert(*row[0] + (*row[1] == "1" ? " +1" : *row[1] == "-1" ? " -1" : " n=" + *row[1]));
        ASSERT_EQ(got, want) << Describe(c) << "\nlog:\n" << LogText() << Repro();
    }
}

// The sides of a netted log: rows of one sign, each |n| times (once when
// the relation's key is among the columns).
TEST_F(DeltaLogSql, NettedSidesRepeatEachRowByItsCount) {
    for (int round = 0; round < 15 * Scale(); ++round) {
        FillLog(gen().Int(0, 40));
        const core::LogColumnsRead read{"s.lg", {"\"a\""}, true};
        std::map<std::string, int> net;
        for (const auto& r : rows_) net[r.a.value_or("NULL")] += r.sign;
        for (int sign : {1, -1})
            for (bool single : {false, true}) {
                std::multiset<std::string> want, got;
                for (const auto& [a, n] : net)
                    if (n * sign > 0)
                        for (int k = 0; k < (single ? 1 : std::abs(n)); ++k) want.insert(a);
                for (const auto& row : Db().Query("WITH " + core::NettedLog(read, "true", "__n") + " SELECT * FROM " +
                                                  core::NettedSide("__n", read.columns, sign, single) + " AS x")
                                           .rows)
                    got.insert(row[0].value_or("NULL"));
                ASSERT_EQ(got, want) << "sign " << sign << (single ? ", single" : "") << "\nlog:\n"
                                     << LogText() << Repro();
            }
    }
}

// Histories of one row written by hand: what the batch nets to.
TEST_F(DeltaLogSql, NettingOfScriptedRowHistories) {
    struct Case {
        const char* what;
        std::vector<std::pair<int, std::string>> log;  // sign, value of b
        std::multiset<std::string> netted;             // value and sign
    };
    const std::vector<Case> cases = {
        {"inserted, updated twice, deleted", {{1, "A"}, {-1, "A"}, {1, "B"}, {-1, "B"}, {1, "C"}, {-1, "C"}}, {}},
        {"updated A to B to C", {{-1, "A"}, {1, "B"}, {-1, "B"}, {1, "C"}}, {"A -1", "C +1"}},
        {"updated A to B and back", {{-1, "A"}, {1, "B"}, {-1, "B"}, {1, "A"}}, {}},
        {"deleted and inserted again", {{-1, "A"}, {1, "A"}}, {}},
        {"two copies inserted, one deleted", {{1, "A"}, {1, "A"}, {-1, "A"}}, {"A +1"}},
        {"deleted twice, inserted once", {{-1, "A"}, {-1, "A"}, {1, "A"}}, {"A -1"}},
        {"inserted, updated to itself", {{1, "A"}, {-1, "A"}, {1, "A"}}, {"A +1"}},
    };
    for (bool by_value : {true, false})
        for (const auto& c : cases) {
            Db().Exec("TRUNCATE s.lg");
            for (size_t i = 0; i < c.log.size(); ++i)
                Db().Exec("INSERT INTO s.lg (__ivm_xid, __ivm_sign, __ivm_seq, a, b) VALUES ('1000', " +
                          std::to_string(c.log[i].first) + ", " + std::to_string(i + 1) + ", 7, " +
                          Literal(c.log[i].second) + ")");
            const core::LogColumnsRead read{"s.lg", {"\"a\"", "\"b\""}, by_value};
            std::multiset<std::string> got;
            for (const auto& row :
                 Db().Query("WITH " + core::NettedLog(read, "true", "__n") + " SELECT b, __ivm_n FROM __n").rows)
                for (int k = 0; k < std::abs(std::stoi(*row[1])); ++k)
                    got.insert(*row[0] + (std::stoi(*row[1]) > 0 ? " +1" : " -1"));
            EXPECT_EQ(got, c.netted) << c.what << (by_value ? " (by value)" : " (by image)");
        }
}

// A batch as a refresh reads it: the consumed rows with sign and sequence.
TEST_F(DeltaLogSql, BatchRowsAreTheConsumedRowsWithSignAndSequence) {
    for (int round = 0; round < 10 * Scale(); ++round) {
        FillLog(gen().Int(0, 25));
        const Consumer c = RandomConsumer();
        std::vector<Param> params;
        const std::string pending = PendingOf(c, 1, params);
        std::vector<std::string> got, want;
        for (const auto& row :
             Db().Query(core::BatchRowsQuery("s.lg", {"\"b\"", "\"a\""}, pending) + " ORDER BY 2", params).rows)
            got.push_back(*row[1] + ":" + *row[0] + ":" + row[2].value_or("NULL") + ":" + row[3].value_or("NULL"));
        for (const auto& r : rows_)
            if (Pending(c, r))
                want.push_back(std::to_string(r.seq) + ":" + std::to_string(r.sign) + ":" + r.b.value_or("NULL") + ":" +
                               r.a.value_or("NULL"));
        ASSERT_EQ(got, want) << Describe(c) << Repro();
    }
}

// The pending summary (count, oldest transaction, last row of one's own
// transaction) and the rows a batch ending at each snapshot mark consumes.
TEST_F(DeltaLogSql, PendingSummaryAndBatchEndCounts) {
    for (int round = 0; round < 30 * Scale(); ++round) {
        FillLog(gen().Int(0, 30));
        const Consumer c = RandomConsumer();
        std::vector<Param> params;
        const std::string pending = PendingOf(c, 1, params);
        const uint64_t own = kFirstXid + static_cast<uint64_t>(gen().Int(0, kXids));  // may have no rows
        std::vector<Param> with_own = params;
        with_own.push_back({std::to_string(own)});
        const std::string own_param = "$" + std::to_string(with_own.size());
        const Row summary = Db().Query(core::PendingSummaryQuery("s.lg", pending, own_param), with_own).rows.at(0);
        int64_t count = 0;
        std::optional<uint64_t> oldest;
        std::optional<int64_t> own_last;
        for (const auto& r : rows_) {
            if (!Pending(c, r)) continue;
            ++count;
            oldest = std::min(oldest.value_or(r.xid), r.xid);
            if (r.xid == own) own_last = std::max(own_last.value_or(r.seq), r.seq);
        }
        const std::string context = Describe(c) + ", own " + std::to_string(own) + "\nlog:\n" + LogText() + Repro();
        EXPECT_EQ(summary[0], Value(std::to_string(count))) << context;
        EXPECT_EQ(summary[1], oldest ? Value(std::to_string(*oldest)) : std::nullopt) << context;
        EXPECT_EQ(summary[2], own_last ? Value(std::to_string(*own_last)) : std::nullopt) << context;

        std::vector<Snap> marks;
        std::vector<std::string> placeholders;
        std::vector<Param> with_marks = params;
        for (int k = gen().Int(1, 4); k > 0; --k) {
            marks.push_back(RandomSnap());
            with_marks.push_back({marks.back().Text()});
            placeholders.push_back("$" + std::to_string(with_marks.size()));
        }
        const Row counts = Db().Query(core::BatchEndCountQuery("s.lg", pending, placeholders), with_marks).rows.at(0);
        ASSERT_EQ(counts.size(), marks.size());
        for (size_t m = 0; m < marks.size(); ++m) {
            int64_t visible = 0;
            for (const auto& r : rows_) visible += Pending(c, r) && marks[m].Visible(r.xid);
            EXPECT_EQ(counts[m], Value(std::to_string(visible))) << "mark " << marks[m].Text() << ", " << context;
        }
        if (HasFailure()) return;
    }
}

// The cleanup: a row is deleted when no consumer has it pending (a consumer
// without a watermark needs none), and the all-applied test agrees.
TEST_F(DeltaLogSql, CleanupDeletesExactlyTheRowsEveryConsumerApplied) {
    for (int round = 0; round < 30 * Scale(); ++round) {
        FillLog(gen().Int(0, 30));
        std::vector<Consumer> consumers;
        std::vector<std::string> pending;
        std::vector<Param> params;
        for (int k = gen().Int(0, 3); k > 0; --k) {
            consumers.push_back(RandomConsumer());
            pending.push_back(PendingOf(consumers.back(), static_cast<int>(params.size()) + 1, params));
        }
        std::string context = "consumers:";
        for (const auto& c : consumers) context += "\n  " + Describe(c);
        context += "\nlog:\n" + LogText() + Repro();
        const auto keep = Model([&](const LogRow& r) {
            return std::any_of(consumers.begin(), consumers.end(), [&](const Consumer& c) { return Pending(c, r); });
        });
        const std::string applied = core::AppliedByAll(pending);
        const std::string all_applied = core::AllRowsAppliedQuery("s.lg", applied);
        ASSERT_EQ(Db().Scalar(all_applied, params), Value(keep.empty() ? "t" : "f")) << context;
        Db().Query(core::DeleteAppliedRows("s.lg", applied), params);
        ASSERT_EQ(Selected("true", {}), keep) << context;
        ASSERT_EQ(Db().Scalar(all_applied, params), Value(keep.empty() ? "t" : "f")) << context;
    }
}

// RelationBefore: the current rows of a relation less the later changes'
// inserts, plus their deletes, netted first, are the rows it had before.
TEST_F(DeltaLogSql, RelationBeforeUndoesTheLaterChanges) {
    Db().Exec("CREATE TABLE s.rel (g integer, v text, n numeric)");
    Db().Exec("CREATE TABLE s.later (__ivm_sign smallint, __ivm_seq bigint, g integer, v text, n numeric)");
    for (int round = 0; round < 25 * Scale(); ++round) {
        Db().Exec("TRUNCATE s.rel, s.later");
        std::vector<std::string> tuples;
        for (int k = gen().Int(0, 12); k > 0; --k)
            tuples.push_back("(" + Lit(Maybe(0.2, {"1", "2", "3"}), "integer") + ", " +
                             Lit(Maybe(0.2, {"p", "q"}), "text") + ", " +
                             Lit(Maybe(0.2, {"1", "1.0", "4"}), "numeric") + ")");
        if (!tuples.empty()) Db().Exec("INSERT INTO s.rel VALUES " + core::Join(tuples, ", "));
        Db().Exec("DROP TABLE IF EXISTS s.before; CREATE TABLE s.before AS SELECT * FROM s.rel");
        // Later changes, logged as a delta log records them: inserted rows
        // (+1) and deleted physical rows (-1), some inserted and deleted again.
        for (int k = gen().Int(0, 10), seq = 1; k > 0; --k, ++seq) {
            if (gen().Chance(0.5)) {
                const std::string row = "(" + Lit(Maybe(0.2, {"1", "2", "3"}), "integer") + ", " +
                                        Lit(Maybe(0.2, {"p", "q"}), "text") + ", " +
                                        Lit(Maybe(0.2, {"1", "1.0", "4"}), "numeric") + ")";
                Db().Exec("INSERT INTO s.rel VALUES " + row);
                Db().Exec("INSERT INTO s.later SELECT 1, " + std::to_string(seq) + ", * FROM (VALUES " + row +
                          ") AS r");
            } else {
                Db().Exec(
                    "WITH d AS (DELETE FROM s.rel WHERE ctid = (SELECT ctid FROM s.rel ORDER BY g, v, n, ctid "
                    "LIMIT 1 OFFSET " +
                    std::to_string(gen().Int(0, 3)) + ") RETURNING *) INSERT INTO s.later SELECT -1, " +
                    std::to_string(seq) + ", * FROM d");
            }
        }
        const std::string before = core::RelationBefore("s.rel", {"\"g\"", "\"v\"", "\"n\""}, "s.later");
        const Rows diff = Db().Query("SELECT 'missing', * FROM (SELECT * FROM s.before EXCEPT ALL SELECT * FROM " +
                                     before + " AS x) AS m UNION ALL SELECT 'unexpected', * FROM (SELECT * FROM " +
                                     before + " AS y EXCEPT ALL SELECT * FROM s.before) AS u");
        ASSERT_TRUE(diff.rows.empty()) << "relation before the later changes:\n"
                                       << sqlb::Describe(diff) << "later changes:\n"
                                       << sqlb::Describe(Db().Query("SELECT * FROM s.later ORDER BY __ivm_seq"))
                                       << Repro();
    }
}

}  // namespace
}  // namespace ivmx::sqlb
