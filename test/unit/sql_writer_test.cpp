// The SQL writer: statement structure per view shape and statement kind.
#include <gtest/gtest.h>

#include "ivmx/core/aggregate_rules.hpp"
#include "ivmx/core/error.hpp"
#include "ivmx/core/delta_query.hpp"
#include "ivmx/core/sql_text.hpp"
#include "ivmx/core/sql_writer.hpp"
#include "test_fixtures.hpp"

using namespace ivmx::core;
using ivmx::test::Agg;
using ivmx::test::BaseView;
using ivmx::test::BranchTotals;
using ivmx::test::Key;

namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

int Count(const std::string& haystack, const std::string& needle) {
    int n = 0;
    for (size_t p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) ++n;
    return n;
}

const char* kNew = "\"__ivmx_new\"";
const char* kOld = "\"__ivmx_old\"";

Delta Inserted(const ViewDefinition& v) {
    return RelationDelta(v, 1, kNew, "");
}
Delta Deleted(const ViewDefinition& v) {
    return RelationDelta(v, 1, "", kOld);
}
Delta Updated(const ViewDefinition& v) {
    return RelationDelta(v, 1, kNew, kOld);
}

}  // namespace

TEST(SqlText, QuotesEveryIdentifier) {
    EXPECT_EQ(QuoteIdent("abc"), "\"abc\"");
    EXPECT_EQ(QuoteIdent("a\"b"), "\"a\"\"b\"");
    EXPECT_EQ(QuoteQualified({"s", "T"}), "\"s\".\"T\"");
    // The qualifier is written as given (an alias the writer chose); the
    // column name is quoted.
    EXPECT_EQ(QualifiedColumn("__ivm_m", "Sum \"x\""), "__ivm_m.\"Sum \"\"x\"\"\"");
}

TEST(TableLayout, GroupedViewKeepsStateAfterVisibleColumns) {
    auto cols = TableColumns(BranchTotals());
    std::vector<std::string> expected{
        "bid", "count", "sum", "min", "__ivm_count__", "__ivm_count_3__", "__ivm_count_4__", "__ivm_lost_4__"};
    EXPECT_EQ(cols, expected);
    EXPECT_EQ(VisibleColumns(BranchTotals()), (std::vector<std::string>{"bid", "count", "sum", "min"}));
}

TEST(TableLayout, HiddenKeysFollowVisibleColumns) {
    auto v = BaseView(ViewShape::Grouped);
    auto hidden = Key(HiddenKeyColumn(1), "t.k");
    hidden.hidden = true;
    v.columns.push_back(Agg("c", AggregateKind::CountStar));
    v.columns.push_back(hidden);
    EXPECT_EQ(TableColumns(v), (std::vector<std::string>{"c", "__ivm_key_1__", "__ivm_count__"}));
    EXPECT_EQ(VisibleColumns(v), (std::vector<std::string>{"c"}));
}

TEST(Populate, GroupedViewGroupsByKeys) {
    std::string sql = PopulateQuery(BranchTotals());
    EXPECT_TRUE(Contains(sql, "FROM \"public\".\"accounts\" AS t"));
    EXPECT_TRUE(Contains(sql, "GROUP BY t.bid"));
    EXPECT_TRUE(Contains(sql, "min(t.abalance) AS \"min\""));
    EXPECT_TRUE(Contains(sql, "count(t.abalance) AS \"__ivm_count_3__\""));
    EXPECT_TRUE(Contains(sql, "CAST(NULL AS boolean) AS \"__ivm_lost_4__\""));
}

TEST(Populate, AvgKeepsSumAndCountWithPostgresAccumulators) {
    auto v = BaseView(ViewShape::GlobalAggregate);
    v.columns.push_back(Agg("a", AggregateKind::Avg, "t.x", "real", "double precision"));
    std::string sql = PopulateQuery(v);
    EXPECT_TRUE(Contains(sql, "avg(t.x) AS \"a\""));
    EXPECT_TRUE(Contains(sql, "sum(CAST(t.x AS double precision)) AS \"__ivm_sum_1__\""));
    EXPECT_FALSE(Contains(sql, "GROUP BY"));
}

TEST(Index, KeyedViewsGetNullsNotDistinctUniqueIndex) {
    auto sql = CreateIndexSql(BranchTotals());
    ASSERT_TRUE(sql.has_value());
    EXPECT_EQ(*sql, "CREATE UNIQUE INDEX ON \"public\".\"mv\" (\"bid\") NULLS NOT DISTINCT");
    EXPECT_FALSE(CreateIndexSql(BaseView(ViewShape::GlobalAggregate)).has_value());
}

TEST(Maintenance, InsertIntoGroupedViewIsOneUpsert) {
    auto plan = BuildMaintenancePlan(BranchTotals(), Inserted(BranchTotals()));
    ASSERT_EQ(plan.steps.size(), 1u);
    const auto& sql = plan.steps[0].sql;
    EXPECT_FALSE(plan.steps[0].reports_rows);
    EXPECT_TRUE(Contains(sql, "ON CONFLICT (\"bid\") DO UPDATE SET"));
    // Groups are upserted (and row-locked) in key order: no deadlock
    // between transactions whose deltas share groups.
    EXPECT_TRUE(Contains(sql, "ORDER BY \"bid\" ON CONFLICT"));
    EXPECT_TRUE(Contains(sql, "FROM \"__ivmx_new\" AS t"));
    EXPECT_FALSE(Contains(sql, "__ivmx_old"));
    EXPECT_FALSE(Contains(sql, "UNION ALL"));
    EXPECT_FALSE(Contains(sql, "RETURNING"));
}

TEST(Maintenance, UpdateOfGroupedViewCombinesBothSidesThenCleansUp) {
    auto plan = BuildMaintenancePlan(BranchTotals(), Updated(BranchTotals()));
    ASSERT_EQ(plan.steps.size(), 3u);
    const auto& upsert = plan.steps[0];
    EXPECT_TRUE(upsert.reports_rows);
    EXPECT_TRUE(Contains(upsert.sql, "UNION ALL"));
    EXPECT_TRUE(Contains(upsert.sql, "-1 AS __ivm_sign FROM \"__ivmx_old\" AS t"));
    EXPECT_TRUE(Contains(upsert.sql, "sum(__ivm_arg_3__) FILTER (WHERE __ivm_sign > 0)"));
    EXPECT_TRUE(Contains(upsert.sql, "GROUP BY __ivm_u.\"bid\""));
    EXPECT_TRUE(Contains(upsert.sql, "RETURNING __ivm_mv.ctid AS tid"));
    EXPECT_EQ(plan.steps[1].input, StepInput::TidsToRecompute);
    EXPECT_TRUE(Contains(plan.steps[1].sql, "SET \"min\" = (SELECT min(t.abalance) FROM"));
    EXPECT_TRUE(Contains(plan.steps[1].sql, "t.bid IS NULL AND __ivm_mv.\"bid\" IS NULL"));
    EXPECT_EQ(plan.steps[2].input, StepInput::TidsToDelete);
    EXPECT_TRUE(Contains(plan.steps[2].sql, "ctid = ANY ($1)"));
}

TEST(Maintenance, DeleteWithoutExtremesSkipsRecompute) {
    auto v = BaseView(ViewShape::Distinct);
    v.columns.push_back(Key("bid", "t.bid", true));
    auto plan = BuildMaintenancePlan(v, Deleted(v));
    ASSERT_EQ(plan.steps.size(), 2u);
    EXPECT_TRUE(Contains(plan.steps[0].sql, "\"__ivmx_old\""));
    EXPECT_EQ(plan.steps[1].input, StepInput::TidsToDelete);
}

TEST(Maintenance, SumKeepsNullSemanticsThroughNonNullCount) {
    auto plan = BuildMaintenancePlan(BranchTotals(), Updated(BranchTotals()));
    EXPECT_TRUE(Contains(plan.steps[0].sql,
                         "\"sum\" = CASE WHEN (__ivm_mv.\"__ivm_count_3__\" + "
                         "excluded.\"__ivm_count_3__\") = 0 THEN NULL"));
}

TEST(Maintenance, GlobalAggregateUpdatesItsOnlyRow) {
    auto v = BaseView(ViewShape::GlobalAggregate);
    v.columns.push_back(Agg("c", AggregateKind::CountStar));
    v.columns.push_back(Agg("m", AggregateKind::Max, "t.x", "integer", "integer"));
    auto insert_plan = BuildMaintenancePlan(v, Inserted(v));
    ASSERT_EQ(insert_plan.steps.size(), 1u);
    EXPECT_EQ(insert_plan.steps[0].sql.rfind("UPDATE \"public\".\"mv\" AS __ivm_mv SET", 0), 0u);
    EXPECT_TRUE(Contains(insert_plan.steps[0].sql, "GREATEST("));
    auto delete_plan = BuildMaintenancePlan(v, Deleted(v));
    ASSERT_EQ(delete_plan.steps.size(), 2u);
    EXPECT_TRUE(delete_plan.steps[0].reports_rows);
    EXPECT_FALSE(Contains(delete_plan.steps[1].sql, " IS NULL AND"));  // no keys to match
}

TEST(Maintenance, BagViewDeletesByPrimaryKeyWhenSelected) {
    auto v = BaseView(ViewShape::Bag);
    OutputColumn id, x;
    id.name = "aid";
    id.expression_sql = "t.aid";
    id.not_null = true;
    x.name = "x";
    x.expression_sql = "t.abalance * 2";
    v.columns = {id, x};
    v.row_key_columns = {"aid"};
    // Deleted only: by key.
    auto deleted = BuildMaintenancePlan(v, Deleted(v));
    ASSERT_EQ(deleted.steps.size(), 1u);
    EXPECT_TRUE(Contains(deleted.steps[0].sql, "DELETE FROM \"public\".\"mv\" AS __ivm_mv USING"));
    EXPECT_TRUE(Contains(deleted.steps[0].sql, "__ivm_mv.\"aid\" = __ivm_d.\"aid\""));
    // Both sides, many rows: one statement; rows whose key is on both are
    // updated in place (the key itself is not assigned), the others deleted
    // or inserted.
    EXPECT_TRUE(UpdatesInPlace(v, kInPlaceMinRows));
    EXPECT_FALSE(UpdatesInPlace(v, kInPlaceMinRows - 1));
    auto many = Updated(v);
    many.update_in_place = true;
    auto plan = BuildMaintenancePlan(v, many);
    ASSERT_EQ(plan.steps.size(), 1u);
    const std::string& sql = plan.steps[0].sql;
    EXPECT_TRUE(plan.steps[0].returns_count);
    EXPECT_TRUE(Contains(sql, "FULL JOIN"));
    // Pairs in the order of the deleted rows' keys (lookups in index order).
    EXPECT_TRUE(Contains(sql, "ON __ivm_p.\"aid\" = __ivm_d.\"aid\" ORDER BY \"__ivm_old_aid\")"));
    EXPECT_TRUE(Contains(sql,
                         "UPDATE \"public\".\"mv\" AS __ivm_mv SET \"x\" = __ivm_k.\"x\" FROM __ivm_k "
                         "WHERE __ivm_mv.\"aid\" = __ivm_k.\"__ivm_old_aid\" AND __ivm_k.\"aid\" IS NOT NULL"));
    EXPECT_FALSE(Contains(sql, "SET \"aid\""));
    EXPECT_TRUE(Contains(sql, "DELETE FROM \"public\".\"mv\" AS __ivm_mv USING __ivm_k"));
    EXPECT_FALSE(Contains(sql, "NOT EXISTS"));
    // WITH queries of the delta come first, in the statement's own WITH.
    many.with_items = {"__ivm_log0 AS MATERIALIZED (SELECT 1)"};
    const std::string shared = BuildMaintenancePlan(v, many).steps[0].sql;
    EXPECT_EQ(shared.rfind("WITH __ivm_log0 AS MATERIALIZED (SELECT 1), __ivm_k AS MATERIALIZED (", 0), 0u);
    many.with_items.clear();
    EXPECT_TRUE(Contains(sql, "INSERT INTO \"public\".\"mv\" (\"aid\", \"x\") SELECT"));
    EXPECT_TRUE(Contains(sql, "(SELECT count(*) FROM __ivm_u) + (SELECT count(*) FROM __ivm_x)"));
    EXPECT_TRUE(Contains(CreateTableSql(v), "WITH (fillfactor = 90) AS SELECT"));
    // A statement of few rows deletes and re-inserts.
    auto small = BuildMaintenancePlan(v, Updated(v));
    ASSERT_EQ(small.steps.size(), 2u);
    EXPECT_TRUE(Contains(small.steps[0].sql, "DELETE FROM \"public\".\"mv\" AS __ivm_mv USING"));
    EXPECT_TRUE(Contains(small.steps[1].sql, "INSERT INTO \"public\".\"mv\" (\"aid\", \"x\") SELECT"));
    // Only key columns: nothing to update in place.
    v.columns = {id};
    EXPECT_FALSE(Contains(BuildMaintenancePlan(v, many).steps[0].sql, "UPDATE"));
    v.columns = {id, x};
    EXPECT_EQ(WriterConcurrencyOf(v, v.relations[0].relation_id), WriterConcurrency::Free);
    v.row_key_columns.clear();
    EXPECT_FALSE(UpdatesInPlace(v, kInPlaceMinRows));
    EXPECT_FALSE(Contains(CreateTableSql(v), "fillfactor"));
    auto by_value = BuildMaintenancePlan(v, Deleted(v));
    ASSERT_EQ(by_value.steps.size(), 1u);
    EXPECT_TRUE(Contains(by_value.steps[0].sql, "row_number() OVER (PARTITION BY"));
    EXPECT_EQ(WriterConcurrencyOf(v, v.relations[0].relation_id), WriterConcurrency::Exclusive);
}

TEST(Maintenance, MinLostOnlyWhenNoInsertedValueReplacesIt) {
    auto plan = BuildMaintenancePlan(BranchTotals(), Updated(BranchTotals()));
    EXPECT_TRUE(Contains(plan.steps[0].sql,
                         "(__ivm_d.\"__ivm_del_4__\" IS NOT NULL AND (__ivm_d.\"__ivm_ins_4__\" "
                         "IS NULL OR __ivm_d.\"__ivm_ins_4__\" > __ivm_d.\"__ivm_del_4__\"))"));
}

TEST(Verify, ComparesBothWaysOnVisibleColumns) {
    std::string sql = VerifySql(BranchTotals(), "SELECT 1");
    EXPECT_EQ(Count(sql, "EXCEPT ALL"), 2);
    EXPECT_FALSE(Contains(sql, "__ivm_count__"));
}

TEST(Refresh, WithoutDataOnlyEmpties) {
    EXPECT_EQ(RefreshStatements(BranchTotals(), false).size(), 1u);
    EXPECT_EQ(RefreshStatements(BranchTotals(), true).size(), 2u);
}

TEST(AggregateRules, KindsAndTypes) {
    EXPECT_EQ(AggregateKindByName("count", 0), AggregateKind::CountStar);
    EXPECT_EQ(AggregateKindByName("count", 1), AggregateKind::Count);
    EXPECT_FALSE(AggregateKindByName("json_object_agg", 2).has_value());
    EXPECT_FALSE(AggregateKindByName("string_agg", 1).has_value());
    EXPECT_TRUE(IsSummableType("money"));
    EXPECT_FALSE(IsSummableType("text"));
    EXPECT_EQ(AvgStateFor("integer")->sum_type, "bigint");
    EXPECT_EQ(AvgStateFor("bigint")->sum_type, "numeric");
    EXPECT_FALSE(AvgStateFor("money").has_value());
}

TEST(Columns, AliasesRenameVisibleColumnsAndRowKeys) {
    auto v = BaseView(ViewShape::Bag);
    OutputColumn id;
    id.name = "aid";
    id.expression_sql = "t.aid";
    v.columns = {id};
    v.row_key_columns = {"aid"};
    ApplyColumnNames(v, {"account"});
    EXPECT_EQ(v.columns[0].name, "account");
    EXPECT_EQ(v.row_key_columns[0], "account");
    try {
        ApplyColumnNames(v, {"a", "b"});
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_EQ(e.sqlstate(), sqlstate::kSyntaxError);
    }
}

TEST(Columns, ValidationNamesTheOffendingColumn) {
    auto v = BranchTotals();
    v.columns[1].name = "__ivm_x";
    try {
        ValidateColumns(v);
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_EQ(e.sqlstate(), sqlstate::kFeatureNotSupported);
        EXPECT_NE(std::string(e.what()).find("__ivm_x"), std::string::npos);
    }
    v = BranchTotals();
    v.columns[2].name = "bid";
    try {
        ValidateColumns(v);
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_EQ(e.sqlstate(), sqlstate::kDuplicateColumn);
    }
    auto bag = BaseView(ViewShape::Bag);
    OutputColumn point;
    point.name = "p";
    point.expression_sql = "t.p";
    point.type_sql = "point";
    point.has_equality = false;
    bag.columns = {point};
    EXPECT_THROW(ValidateColumns(bag), Error);
    bag.row_key_columns = {"id"};
    EXPECT_NO_THROW(ValidateColumns(bag));
}

namespace {

ViewDefinition TwoRelations(const std::string& second, unsigned int second_id) {
    auto v = BaseView(ViewShape::Bag);
    v.relations.push_back({{"public", second}, "u", second_id, {}});
    v.where_sql = "t.bid = u.bid";
    OutputColumn a, b;
    a.name = "a";
    a.expression_sql = "t.abalance";
    b.name = "b";
    b.expression_sql = "u.bbalance";
    v.columns = {a, b};
    return v;
}

int SignSum(const Delta& d) {
    int sum = 0;
    for (const auto& s : d.streams) sum += s.sign;
    return sum;
}

}  // namespace

TEST(Delta, OneChangedRelationOfAJoinReadsTheOthersCurrentState) {
    auto v = TwoRelations("branches", 2);
    Delta d = RelationDelta(v, 1, kNew, kOld);
    ASSERT_EQ(d.streams.size(), 2u);
    EXPECT_FALSE(d.consolidate);
    EXPECT_EQ(d.streams[0].sources, (std::vector<std::string>{kNew, "\"public\".\"branches\""}));
    EXPECT_EQ(d.streams[0].sign, 1);
    EXPECT_EQ(d.streams[1].sources[0], kOld);
    EXPECT_EQ(d.streams[1].sign, -1);
}

TEST(Delta, SelfJoinUsesInclusionExclusion) {
    auto v = TwoRelations("accounts", 1);  // the same table twice
    Delta insert = RelationDelta(v, 1, kNew, "");
    // dR x R' + R' x dR - dR x dR
    ASSERT_EQ(insert.streams.size(), 3u);
    EXPECT_TRUE(insert.consolidate);
    EXPECT_EQ(insert.streams[2].sources, (std::vector<std::string>{kNew, kNew}));
    EXPECT_EQ(insert.streams[2].sign, -1);
    Delta update = RelationDelta(v, 1, kNew, kOld);
    EXPECT_EQ(update.streams.size(), 8u);  // 2 + 2 + 4
    EXPECT_EQ(SignSum(update), 0);
    auto plan = BuildMaintenancePlan(v, update);
    ASSERT_EQ(plan.steps.size(), 2u);  // netted delete, netted insert
    EXPECT_TRUE(Contains(plan.steps[0].sql, "HAVING sum(__ivm_s.__ivm_sign) <> 0"));
    EXPECT_TRUE(Contains(plan.steps[1].sql, "generate_series(1, __ivm_c.__ivm_n)"));
}

TEST(Delta, UnchangedRelationGivesNoWork) {
    auto v = TwoRelations("branches", 2);
    EXPECT_TRUE(RelationDelta(v, 99, kNew, kOld).empty());
    EXPECT_TRUE(BuildMaintenancePlan(v, RelationDelta(v, 99, kNew, kOld)).steps.empty());
}

namespace {

// BranchTotals over `n` occurrences of accounts (a self-join).
ivmx::core::ViewDefinition SelfJoin(size_t n) {
    auto v = ivmx::test::BranchTotals();
    for (size_t i = 1; i < n; ++i) v.relations.push_back({{"public", "accounts"}, "t" + std::to_string(i), 1, {}});
    return v;
}

}  // namespace

TEST(DeltaBounds, ARelationMayBeReadAtMostFourTimes) {
    EXPECT_NO_THROW(ivmx::core::ValidateRelations(SelfJoin(ivmx::core::kMaxOccurrencesPerRelation)));
    try {
        ivmx::core::ValidateRelations(SelfJoin(ivmx::core::kMaxOccurrencesPerRelation + 1));
        FAIL() << "a view reading one relation five times was accepted";
    } catch (const ivmx::core::Error& e) {
        EXPECT_EQ(e.sqlstate(), sqlstate::kProgramLimitExceeded);
        EXPECT_NE(std::string(e.what()).find("\"accounts\""), std::string::npos);
        EXPECT_FALSE(e.hint().empty());
    }
}

TEST(DeltaBounds, StreamsGrowAsThreeToTheChangedOccurrences) {
    const auto view = SelfJoin(4);
    const auto delta = ivmx::core::RelationDelta(view, 1, "ins", "del");
    // Every non-empty subset of the 4 occurrences, each member inserted or deleted.
    EXPECT_EQ(delta.streams.size(), 80u);
}

TEST(DeltaBounds, TooManyChangedOccurrencesAreRefused) {
    auto view = ivmx::test::BranchTotals();
    for (unsigned int r = 2; r <= 7; ++r)
        view.relations.push_back({{"public", "r" + std::to_string(r)}, "r" + std::to_string(r), r, {}});
    std::vector<ivmx::core::ChangedOccurrence> changed;
    for (size_t i = 0; i < view.relations.size(); ++i) changed.push_back({i, "ins", "del"});
    ASSERT_GT(changed.size(), ivmx::core::kMaxChangedOccurrences);
    EXPECT_THROW(ivmx::core::BuildDelta(view, changed), ivmx::core::Error);
    changed.resize(ivmx::core::kMaxChangedOccurrences);
    EXPECT_NO_THROW(ivmx::core::BuildDelta(view, changed));
}

TEST(SplitBatches, RelationBeforeNetsLaterChangesPerValue) {
    const std::string sql = ivmx::core::RelationBefore("\"s\".\"t\"", {"\"g\"", "\"v\""}, "later");
    // Current rows less the netted later inserts, plus the netted later deletes.
    EXPECT_NE(sql.find("SELECT \"g\", \"v\" FROM \"s\".\"t\" EXCEPT ALL "), std::string::npos);
    EXPECT_NE(sql.find("sum(__ivm_sign) AS __ivm_n FROM later AS __ivm_l GROUP BY \"g\", \"v\""), std::string::npos);
    EXPECT_NE(sql.find("WHERE __ivm_i.__ivm_n > 0"), std::string::npos);
    EXPECT_NE(sql.find("UNION ALL SELECT __ivm_o.\"g\", __ivm_o.\"v\""), std::string::npos);
    EXPECT_NE(sql.find("generate_series(1, -__ivm_o.__ivm_n) WHERE __ivm_o.__ivm_n < 0"), std::string::npos);
}

TEST(SplitBatches, RecomputeReadsTheRelationAsOfTheBatchEnd) {
    const auto view = ivmx::test::BranchTotals();  // has min(abalance)
    auto delta = ivmx::core::RelationDelta(view, 1, "ins", "del");
    delta.base_as_of = {"(SELECT 1) "};
    const auto plan = ivmx::core::BuildMaintenancePlan(view, delta);
    bool found = false;
    for (const auto& step : plan.steps)
        if (step.input == ivmx::core::StepInput::TidsToRecompute) {
            found = true;
            EXPECT_NE(step.sql.find("FROM (SELECT 1)  AS t"), std::string::npos) << step.sql;
            EXPECT_EQ(step.sql.find("\"public\".\"accounts\""), std::string::npos) << step.sql;
        }
    EXPECT_TRUE(found);
}
