// Groups that a delta empties while their aggregates also need a
// recompute (a lost extreme, a non-finite running sum). The upsert reports
// such a group gone only, never also stale: the recompute would give it a
// new ctid, and the deletion of gone rows (by the ctids the upsert
// returned) would then miss it, leaving the group with __ivm_count__ = 0.
#include "harness.hpp"
#include "ivmx/core/sql_text.hpp"

namespace ivmx::sqlb {
namespace {

using core::AggregateKind;

class GoneAndStale : public BehaviourTest {
  protected:
    // The groups (text of the first column) the IMMV holds with
    // __ivm_count__ = 0, i.e. groups that should have been deleted.
    std::vector<std::string> GroupsWithCountZero(const core::ViewDefinition& view) {
        std::vector<std::string> out;
        for (const auto& row : Db().Query("SELECT " + core::QuoteIdent(view.columns[0].name) + "::text FROM " +
                                          core::QuoteQualified(view.immv) + " WHERE " +
                                          core::QuoteIdent(core::MultiplicityColumn()) + " = 0")
                                   .rows)
            out.push_back(row[0].value_or("NULL"));
        return out;
    }
};

// A transaction inserts a row of a new group and deletes it again: the
// netted delta has the group at count 0 and the same value inserted and
// deleted, which counts as a lost minimum.
TEST_F(GoneAndStale, GroupInsertedAndDeletedInOneTransactionIsDeleted) {
    CreateTable(Acc(), 0, gen());
    Db().Exec("INSERT INTO s.acc (id, g, v) VALUES (1, 1, 10), (2, 1, 20)");
    core::ViewDefinition v;
    v.immv = {"s", "mv"};
    v.relations.push_back(Relation(Acc(), "a", {"g", "v"}));
    v.shape = core::ViewShape::Grouped;
    v.columns = {GroupKey("g", "a.g"), Aggregate("lo", AggregateKind::Min, "a.v", "integer", "integer")};
    Immv immv(v, "SELECT g, min(v) FROM {acc} GROUP BY g");
    immv.Create();

    ClearCaptured({Acc()});
    Db().Exec("BEGIN");
    Db().Exec("INSERT INTO s.acc (id, g, v) VALUES (3, 2, 5)");
    Db().Exec("DELETE FROM s.acc WHERE id = 3");
    core::Delta delta = core::BuildDelta(v, {{0, InsertedRows(Acc(), false), DeletedRows(Acc(), false)}});
    delta.consolidate = true;  // transaction-scoped maintenance nets a transaction's statements
    immv.Apply(delta);
    Db().Exec("COMMIT");

    EXPECT_TRUE(GroupsWithCountZero(v).empty());
    EXPECT_EQ(immv.Mismatch(), "");
}

// The last row of a group had avg(f) = Infinity: deleting it leaves the
// running sum at Infinity - Infinity = NaN, a non-finite sum.
TEST_F(GoneAndStale, GroupWhoseAvgSumBecameNaNIsDeleted) {
    CreateTable(Acc(), 0, gen());
    Db().Exec("INSERT INTO s.acc (id, h, f) VALUES (1, 'x', 'Infinity'), (2, 'y', 1)");
    core::ViewDefinition v;
    v.immv = {"s", "mv"};
    v.relations.push_back(Relation(Acc(), "a", {"h", "f"}));
    v.shape = core::ViewShape::Grouped;
    v.columns = {GroupKey("h", "a.h"),
                 Aggregate("af", AggregateKind::Avg, "a.f", "double precision", "double precision")};
    Immv immv(v, "SELECT h, avg(f) FROM {acc} GROUP BY h");
    immv.Create();

    ClearCaptured({Acc()});
    Db().Exec("DELETE FROM s.acc WHERE h = 'x'");
    immv.Apply(core::RelationDelta(v, Acc().relation_id, "", DeletedRows(Acc(), false)));

    EXPECT_TRUE(GroupsWithCountZero(v).empty());
    EXPECT_EQ(immv.Mismatch(), "");
}

}  // namespace
}  // namespace ivmx::sqlb
