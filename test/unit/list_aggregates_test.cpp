// bit_xor (kept like a sum), the standard deviations (from the moments the
// variances keep), and the aggregates recomputed for every group a change
// reaches (string_agg, array_agg, the JSON aggregates, variances over
// floats); and how verify_immv compares what they hold.
#include <gtest/gtest.h>

#include "ivmx/core/aggregate_rules.hpp"
#include "ivmx/core/aggregate_sql.hpp"
#include "ivmx/core/delta_query.hpp"
#include "ivmx/core/sql_writer.hpp"
#include "test_fixtures.hpp"

using namespace ivmx::core;
using ivmx::test::Agg;
using ivmx::test::BaseView;
using ivmx::test::Key;
using ivmx::test::MakeAggregate;

namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

bool HasColumn(const ViewDefinition& v, const std::string& name) {
    const auto names = TableColumns(v);
    return std::find(names.begin(), names.end(), name) != names.end();
}

// SELECT k, bit_xor(t.i) AS x, bit_xor(t.i) FILTER (WHERE t.on_) AS xo FROM t GROUP BY k
ViewDefinition XorView() {
    auto v = BaseView(ViewShape::Grouped);
    v.columns.push_back(Key("k", "t.k"));
    v.columns.push_back(Agg("x", AggregateKind::BitXor, "t.i", "integer", "integer"));
    v.columns.push_back(Agg("xo", AggregateKind::BitXor, "t.i", "integer", "integer"));
    v.columns.back().aggregate->filter_sql = "t.on_";
    return v;
}

// string_agg(t.s, ',' ORDER BY t.id), array_agg(t.i) FILTER (WHERE t.on_)
OutputColumn StringAgg(const std::string& name, bool ordered) {
    OutputColumn c = Agg(name, AggregateKind::StringAgg, "t.s", "text", "text");
    c.aggregate->call_arguments_sql = ordered ? "t.s, ','::text ORDER BY t.id" : "t.s, ','::text";
    c.aggregate->ordered = ordered;
    c.aggregate->constant_delimiter_sql = "','::text";
    return c;
}

OutputColumn ArrayAgg(const std::string& name, bool ordered) {
    OutputColumn c = Agg(name, AggregateKind::ArrayAgg, "t.i", "integer", "integer[]");
    c.aggregate->call_arguments_sql = ordered ? "t.i ORDER BY t.id" : "t.i";
    c.aggregate->ordered = ordered;
    return c;
}

ViewDefinition ListView() {
    auto v = BaseView(ViewShape::Grouped);
    v.columns.push_back(Key("k", "t.k"));
    v.columns.push_back(StringAgg("l", true));
    v.columns.push_back(ArrayAgg("a", false));
    v.columns.back().aggregate->filter_sql = "t.on_";
    return v;
}

}  // namespace

TEST(AggregateRuleTable, NamesArgumentsAndStrategies) {
    EXPECT_EQ(AggregateKindByName("bit_xor", 1), AggregateKind::BitXor);
    EXPECT_EQ(AggregateKindByName("stddev", 1), AggregateKind::StddevSamp);
    EXPECT_EQ(AggregateKindByName("stddev_samp", 1), AggregateKind::StddevSamp);
    EXPECT_EQ(AggregateKindByName("stddev_pop", 1), AggregateKind::StddevPop);
    EXPECT_EQ(AggregateKindByName("string_agg", 2), AggregateKind::StringAgg);
    EXPECT_EQ(AggregateKindByName("jsonb_object_agg", 2), AggregateKind::JsonbObjectAgg);
    EXPECT_EQ(AggregateKindByName("array_agg", 2), std::nullopt);
    EXPECT_EQ(AggregateKindByName("count", 2), std::nullopt);
    EXPECT_EQ(AggregateFunctionName(AggregateKind::StddevSamp), "stddev_samp");
    const std::string names = SupportedAggregateNames();
    EXPECT_TRUE(Contains(names, "bool_and, every, bool_or")) << names;
    EXPECT_TRUE(Contains(names, ", jsonb_agg and jsonb_object_agg")) << names;
    EXPECT_EQ(StrategyOf(MakeAggregate(AggregateKind::VarPop, "t.x", "double precision")),
              AggregateStrategy::Recompute);
    EXPECT_EQ(StrategyOf(MakeAggregate(AggregateKind::StddevPop, "t.x", "real")), AggregateStrategy::Recompute);
    EXPECT_EQ(StrategyOf(MakeAggregate(AggregateKind::StddevPop, "t.x", "numeric")), AggregateStrategy::Moments);
    EXPECT_EQ(StrategyOf(MakeAggregate(AggregateKind::BitXor, "t.x", "bit")), AggregateStrategy::Xor);
    EXPECT_EQ(StrategyOf(MakeAggregate(AggregateKind::JsonbAgg, "t.x", "integer")), AggregateStrategy::Recompute);
    EXPECT_TRUE(CountsRows(AggregateKind::ArrayAgg));
    EXPECT_FALSE(CountsRows(AggregateKind::StringAgg));  // NULL strings are skipped
    EXPECT_TRUE(TakesOrderBy(AggregateKind::JsonbObjectAgg));
    EXPECT_FALSE(TakesOrderBy(AggregateKind::Sum));
    EXPECT_EQ(InputsForValue(AggregateKind::StddevSamp), 2);
    EXPECT_EQ(InputsForValue(AggregateKind::StddevPop), 1);
}

TEST(XorAggregate, KeptLikeASumNeverRecomputed) {
    const ViewDefinition v = XorView();
    EXPECT_TRUE(HasColumn(v, "__ivm_count_2__"));
    EXPECT_FALSE(HasColumn(v, "__ivm_lost_2__"));
    EXPECT_FALSE(NeedsRecompute(v));
    const MaintenancePlan plan = BuildMaintenancePlan(v, RelationDelta(v, 1, "\"n\"", "\"o\""));
    ASSERT_EQ(plan.steps.size(), 2u);  // upsert, delete of gone groups
    const std::string& sql = plan.steps[0].sql;
    // The delta's xor takes its deleted inputs as its inserted ones.
    EXPECT_TRUE(Contains(sql, "bit_xor(__ivm_arg_2__) AS \"x\"")) << sql;
    EXPECT_TRUE(Contains(sql, "CASE WHEN (t.on_) THEN t.i END AS \"__ivm_arg_3__\""));
    // A new group whose inputs cancel out has no value.
    EXPECT_TRUE(Contains(sql,
                         "CASE WHEN __ivm_d.\"__ivm_count_2__\" = 0 AND __ivm_d.\"x\" = __ivm_d.\"x\" # "
                         "__ivm_d.\"x\" THEN NULL ELSE __ivm_d.\"x\" END AS \"x\""));
    EXPECT_TRUE(Contains(sql,
                         "\"x\" = CASE WHEN (__ivm_mv.\"__ivm_count_2__\" + excluded.\"__ivm_count_2__\") = 0 "
                         "THEN NULL WHEN __ivm_mv.\"x\" IS NULL THEN excluded.\"x\" WHEN excluded.\"x\" IS "
                         "NULL THEN __ivm_mv.\"x\" ELSE __ivm_mv.\"x\" # excluded.\"x\" END"));
}

TEST(StddevAggregates, SquareRootAtTheVarianceScale) {
    auto v = BaseView(ViewShape::Grouped);
    v.columns.push_back(Key("k", "t.k"));
    v.columns.push_back(Agg("sd", AggregateKind::StddevSamp, "t.i", "integer", "numeric"));
    EXPECT_TRUE(HasColumn(v, "__ivm_sum_2__"));
    EXPECT_TRUE(HasColumn(v, "__ivm_sq_2__"));
    EXPECT_FALSE(NeedsRecompute(v));
    EXPECT_EQ(SqrtAtScale("v"),
              "(SELECT CASE WHEN __ivm_root.u IS NULL THEN __ivm_root.v WHEN (__ivm_root.t - __ivm_root.u * 0.5) * "
              "(__ivm_root.t - __ivm_root.u * 0.5) > __ivm_root.v THEN __ivm_root.t - __ivm_root.u WHEN "
              "(__ivm_root.t + __ivm_root.u * 0.5) * (__ivm_root.t + __ivm_root.u * 0.5) <= __ivm_root.v THEN "
              "__ivm_root.t + __ivm_root.u ELSE __ivm_root.t END FROM (SELECT __ivm_q.v, round(sqrt(__ivm_q.v), "
              "scale(__ivm_q.v)) AS t, CAST('1e-' || scale(__ivm_q.v) AS numeric) AS u FROM (SELECT v AS v) AS "
              "__ivm_q) AS __ivm_root)");
    EXPECT_EQ(MomentsValue(*v.columns[1].aggregate, "n", "s", "q"),
              "CASE WHEN n <= 1 THEN NULL WHEN (CAST(n AS numeric) * q - s * s) <= 0 THEN CAST(0 AS numeric) ELSE " +
                  SqrtAtScale("(CAST(n AS numeric) * q - s * s) / (CAST(n AS numeric) * CAST(n - 1 AS numeric))") +
                  " END");
    const MaintenancePlan plan = BuildMaintenancePlan(v, RelationDelta(v, 1, "\"n\"", "\"o\""));
    ASSERT_EQ(plan.steps.size(), 2u);  // upsert, delete of gone groups: no recompute
    EXPECT_TRUE(Contains(plan.steps[0].sql, "round(sqrt(__ivm_q.v), scale(__ivm_q.v))"));
}

TEST(StddevAggregates, OverNumericRecomputedAfterDeletes) {
    auto v = BaseView(ViewShape::Grouped);
    v.columns.push_back(Key("k", "t.k"));
    v.columns.push_back(Agg("sd", AggregateKind::StddevPop, "t.x", "numeric", "numeric"));
    EXPECT_TRUE(HasColumn(v, "__ivm_lost_2__"));
    const MaintenancePlan inserts = BuildMaintenancePlan(v, RelationDelta(v, 1, "\"n\"", ""));
    EXPECT_EQ(inserts.steps.size(), 1u);
    const MaintenancePlan plan = BuildMaintenancePlan(v, RelationDelta(v, 1, "\"n\"", "\"o\""));
    ASSERT_EQ(plan.steps.size(), 3u);  // upsert, recompute, delete of gone groups
    EXPECT_TRUE(Contains(plan.steps[1].sql, "stddev_pop(t.x)"));
    EXPECT_TRUE(Contains(plan.steps[1].sql, "sum(CAST(t.x AS numeric) * CAST(t.x AS numeric))"));
}

TEST(RecomputedAggregates, PopulateCallsWithArgumentsAndCountsInputs) {
    const std::string sql = PopulateQuery(ListView());
    EXPECT_TRUE(Contains(sql, "string_agg(t.s, ','::text ORDER BY t.id) AS \"l\"")) << sql;
    EXPECT_TRUE(Contains(sql, "count(t.s) AS \"__ivm_count_2__\""));
    // array_agg takes NULL elements in: its inputs are rows.
    EXPECT_TRUE(Contains(sql, "array_agg(t.i) FILTER (WHERE t.on_) AS \"a\""));
    EXPECT_TRUE(Contains(sql, "count(*) FILTER (WHERE t.on_) AS \"__ivm_count_3__\""));
    EXPECT_TRUE(Contains(sql, "CAST(NULL AS boolean) AS \"__ivm_lost_3__\""));
}

TEST(RecomputedAggregates, InsertsRecomputeTheGroupsTheyReach) {
    const ViewDefinition v = ListView();
    EXPECT_TRUE(NeedsRecompute(v));
    EXPECT_TRUE(RecomputesOnEveryChange(v));
    const MaintenancePlan plan = BuildMaintenancePlan(v, RelationDelta(v, 1, "\"n\"", ""));
    ASSERT_EQ(plan.steps.size(), 2u);  // upsert reporting its rows, recompute
    EXPECT_TRUE(plan.steps[0].reports_rows);
    const std::string& upsert = plan.steps[0].sql;
    EXPECT_TRUE(Contains(upsert, "count(__ivm_arg_2__) AS \"__ivm_touched_2__\"")) << upsert;
    EXPECT_TRUE(Contains(upsert, "CASE WHEN (t.on_) THEN 1 END AS \"__ivm_arg_3__\""));
    EXPECT_TRUE(Contains(upsert, "(__ivm_d.\"__ivm_touched_3__\" > 0) AS \"__ivm_lost_3__\""));
    EXPECT_TRUE(Contains(upsert, "CAST(NULL AS text) AS \"l\""));
    EXPECT_TRUE(Contains(upsert,
                         "\"l\" = CASE WHEN (__ivm_mv.\"__ivm_count_2__\" + excluded.\"__ivm_count_2__\") = "
                         "0 OR excluded.\"__ivm_lost_2__\" THEN NULL ELSE __ivm_mv.\"l\" END"));
    EXPECT_TRUE(Contains(upsert, "__ivm_mv.\"__ivm_lost_2__\" IS TRUE"));
    EXPECT_EQ(plan.steps[1].input, StepInput::TidsToRecompute);
    const std::string& recompute = plan.steps[1].sql;
    EXPECT_TRUE(Contains(recompute, "string_agg(t.s, ','::text ORDER BY t.id)")) << recompute;
    EXPECT_TRUE(Contains(recompute, "array_agg(t.i) FILTER (WHERE t.on_)"));
    EXPECT_TRUE(Contains(recompute, "\"__ivm_lost_2__\" = NULL"));
}

TEST(RecomputedAggregates, WithoutGroupByTheRowIsReportedStale) {
    auto v = BaseView(ViewShape::GlobalAggregate);
    v.columns.push_back(Agg("vs", AggregateKind::VarSamp, "t.f", "double precision", "double precision"));
    v.columns.push_back(Agg("n", AggregateKind::CountStar));
    EXPECT_FALSE(HasColumn(v, "__ivm_sum_1__"));  // no moments over floats
    const MaintenancePlan plan = BuildMaintenancePlan(v, RelationDelta(v, 1, "\"n\"", ""));
    ASSERT_EQ(plan.steps.size(), 2u);  // update reporting the row, recompute
    // var_samp of one input is NULL: only with two is a NULL stale.
    EXPECT_TRUE(Contains(plan.steps[0].sql, "(__ivm_mv.\"vs\" IS NULL AND __ivm_mv.\"__ivm_count_1__\" >= 2)"))
        << plan.steps[0].sql;
    EXPECT_TRUE(Contains(plan.steps[1].sql, "var_samp(t.f)"));
}

TEST(RecomputedAggregates, ExpressionsOverThemWaitForTheRecompute) {
    auto v = ListView();
    OutputColumn e;
    e.name = "e";
    e.role = ColumnRole::AggregateExpression;
    e.expression_sql = "COALESCE($1, ''::text)";
    e.operands = {1};
    e.type_sql = "text";
    v.columns.push_back(e);
    const MaintenancePlan plan = BuildMaintenancePlan(v, RelationDelta(v, 1, "\"n\"", ""));
    ASSERT_EQ(plan.steps.size(), 3u);  // upsert, evaluate, recompute
    // Guarded: NULL while the string_agg is stale, evaluated by the recompute.
    EXPECT_TRUE(Contains(plan.steps[1].sql,
                         "\"e\" = CASE WHEN (__ivm_mv.\"l\" IS NULL AND "
                         "__ivm_mv.\"__ivm_count_2__\" >= 1) OR __ivm_mv.\"__ivm_lost_2__\" IS "
                         "TRUE THEN NULL ELSE COALESCE((__ivm_mv.\"l\"), ''::text) END"))
        << plan.steps[1].sql;
    EXPECT_TRUE(Contains(plan.steps[2].sql, "COALESCE((string_agg(t.s, ','::text ORDER BY t.id)), ''::text)"))
        << plan.steps[2].sql;
}

TEST(VerifyAggregates, ListsWithoutOrderAreComparedAsSortedElements) {
    auto v = ListView();
    v.columns.push_back(StringAgg("lu", false));
    OutputColumn e;
    e.name = "e";
    e.role = ColumnRole::AggregateExpression;
    e.expression_sql = "array_length($1, 1)";
    e.operands = {2};
    e.type_sql = "integer";
    v.columns.push_back(e);
    const std::string sql = VerifySql(v, "SELECT 1");
    // Ordered: as it is.
    EXPECT_TRUE(Contains(sql, "SELECT __ivm_s.\"k\" AS __ivm_c1, __ivm_s.\"l\" AS __ivm_c2, ")) << sql;
    EXPECT_TRUE(Contains(sql,
                         "ARRAY(SELECT CAST((__ivm_s.\"a\")[__ivm_i:__ivm_i] AS text) COLLATE \"C\" FROM "
                         "generate_subscripts(__ivm_s.\"a\", 1) AS __ivm_i ORDER BY 1)"));
    EXPECT_TRUE(Contains(sql, "unnest(string_to_array(__ivm_q.\"lu\", ','::text)) AS __ivm_e"));
    EXPECT_TRUE(Contains(sql, "regexp_split_to_table(CAST(__ivm_q.\"e\" AS text), '') AS __ivm_e"));
}

TEST(VerifyAggregates, JsonByTextFloatVariancesWithinATolerance) {
    auto v = BaseView(ViewShape::Grouped);
    v.columns.push_back(Key("k", "t.k"));
    OutputColumn j = Agg("j", AggregateKind::JsonAgg, "t.s", "text", "json");
    j.aggregate->call_arguments_sql = "t.s ORDER BY t.id";
    j.aggregate->ordered = true;
    j.has_equality = false;
    v.columns.push_back(j);
    v.columns.push_back(Agg("vi", AggregateKind::VarPop, "t.i", "integer", "numeric"));
    // Over integers the variance is exact, display scale included.
    const std::string exact = VerifySql(v, "SELECT 1");
    EXPECT_TRUE(Contains(exact, "CAST(__ivm_s.\"j\" AS text) AS __ivm_c2")) << exact;
    EXPECT_TRUE(Contains(exact, "CAST(__ivm_s.\"vi\" AS text) AS __ivm_c3"));
    EXPECT_FALSE(Contains(exact, "WITH "));
    v.columns.push_back(Agg("vp", AggregateKind::VarPop, "t.f", "double precision", "double precision"));
    const std::string sql = VerifySql(v, "SELECT 1");
    // Rows that differ are paired up again where only a float variance
    // differs, by a relative 1e-9 at most.
    EXPECT_TRUE(Contains(sql, "CAST(__ivm_s.\"vp\" AS double precision) AS __ivm_c4")) << sql;
    EXPECT_TRUE(Contains(sql, "__ivm_a AS MATERIALIZED (SELECT * FROM __ivm_sr EXCEPT ALL SELECT * FROM __ivm_qr)"));
    EXPECT_TRUE(Contains(sql, "__ivm_a.__ivm_c1 IS NOT DISTINCT FROM __ivm_b.__ivm_c1 AND "));
    EXPECT_TRUE(Contains(sql,
                         "(__ivm_a.__ivm_c4 IS NOT DISTINCT FROM __ivm_b.__ivm_c4 OR CASE WHEN "
                         "sign(__ivm_a.__ivm_c4) = sign(__ivm_b.__ivm_c4) AND greatest(abs(__ivm_a.__ivm_c4), "
                         "abs(__ivm_b.__ivm_c4)) < 'Infinity' THEN abs(__ivm_a.__ivm_c4 - __ivm_b.__ivm_c4) <= "
                         "1e-9 * greatest(abs(__ivm_a.__ivm_c4), abs(__ivm_b.__ivm_c4)) ELSE false END)"));
    EXPECT_TRUE(Contains(sql, "- 2 * LEAST("));
}
