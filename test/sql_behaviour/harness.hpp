// The harness of the behaviour tests: a scratch database, base tables
// whose statements' changes are captured as transition tables would hold
// them (or logged as pg_ivmx's delta logs hold them), IMMV tables created
// and maintained with the core's statements, and the comparison of an IMMV
// with its defining query.
//
// Everything lives in schema "s" of a database created for the run; each
// test starts with an empty schema. Random choices come from a generator
// seeded with SQLB_SEED (printed at the start and in every failure) and the
// test's name, so that a failing case is repeated with
//   SQLB_SEED=<seed> sql_behaviour_tests --gtest_filter=<case>
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ivmx/core/sql_writer.hpp"
#include "ivmx/core/view_ir.hpp"
#include "pg_client.hpp"

namespace ivmx::sqlb {

// The session of the scratch database (created by the test environment).
Session& Db();

// SQLB_SEED (default 1) and SQLB_SCALE (default 1: multiplies the number of
// random steps of every case).
uint64_t BaseSeed();
int Scale();

// How random values of a column are drawn.
enum class Domain {
    Key,       // integer primary key: fresh values on insert, never NULL
    Group,     // small integers 1..4 or NULL (a grouping or join column)
    Int,       // small integers -3..6 or NULL
    Text,      // a few short texts or NULL
    Numeric,   // numerics of several scales (1.0, 1.00), NULL, optionally NaN and infinities
    Float,     // exactly representable doubles, -0, NULL, optionally NaN and infinities
    Reference  // integers 1..10 or NULL (a foreign key, loosely)
};

struct ColumnSpec {
    std::string name;
    std::string type;
    Domain domain;
};

struct TableSpec {
    std::string name;                 // in schema s
    std::vector<ColumnSpec> columns;  // the first one is the primary key
    unsigned int relation_id = 0;     // the BaseRelation::relation_id views use for it
};

// The fixture's tables:
//   acc (id int PK, g int, h text, v int, w numeric, f double precision)
//   br  (bid int PK, g int, name text, x int)
//   cc  (cid int PK, bid int, y int)
const TableSpec& Acc();
const TableSpec& Br();
const TableSpec& Cc();

// "s"."name"
std::string Qualified(const std::string& table);

// Random values and statements over the fixture's tables.
class Generator {
  public:
    explicit Generator(uint64_t seed) : rng_(seed) {}
    std::mt19937_64& rng() { return rng_; }
    int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
    bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
    template <typename T>
    const T& Pick(const std::vector<T>& from) {
        return from[static_cast<size_t>(Int(0, static_cast<int>(from.size()) - 1))];
    }

    // Whether Numeric and Float values may be NaN or infinite.
    void AllowNonFinite(bool allow) { non_finite_ = allow; }
    // A literal of the column's domain.
    std::string Literal(const ColumnSpec& column);
    // INSERT of `rows` rows with fresh keys.
    std::string Insert(const TableSpec& table, int rows);
    // A random INSERT, UPDATE or DELETE of the table (of `rows` current rows).
    std::string Statement(const TableSpec& table, int64_t rows, bool key_updates = true);
    // A WHERE condition selecting some rows.
    std::string Predicate(const TableSpec& table);

  private:
    std::mt19937_64 rng_;
    bool non_finite_ = false;
    std::map<std::string, int> next_key_;
};

// Sets up base tables in schema s. Changes are captured per statement into
// s."__new_<t>" / s."__old_<t>" (plain tables standing for the transition
// tables; cleared with ClearCaptured) and, when `logged`, appended to the
// delta log s."__log_<t>" (the layout of extension/delta_log.cpp: __ivm_xid,
// __ivm_sign, __ivm_time, __ivm_seq, then the table's columns) with the
// transaction id set in the session variable sqlb.xid.
void CreateTable(const TableSpec& table, int initial_rows, Generator& gen, bool logged = false);
void ClearCaptured(const std::vector<TableSpec>& tables);

// FROM-items of the rows a statement inserted / deleted in `table`, as the
// core is given transition tables: the capture table's name, or (for views
// whose join tree reads whole rows as values of the row type, as an
// ephemeral named relation gives them: of type record) a subquery over it.
std::string InsertedRows(const TableSpec& table, bool as_subquery);
std::string DeletedRows(const TableSpec& table, bool as_subquery);

// An IMMV built and maintained with the core's statements.
class Immv {
  public:
    // `expected` is the defining query written by hand, over "{acc}", "{br}"
    // and "{cc}" (replaced by the tables it is evaluated over).
    Immv(core::ViewDefinition view, std::string expected);

    const core::ViewDefinition& view() const { return view_; }
    // Creates and fills the IMMV table (CreateTableSql, CreateIndexSql).
    void Create();
    // Runs the plan of `delta` as extension/maintainer.cpp does: steps in
    // order, the rows reported gone or stale fed to the steps taking them
    // as a tid[] parameter. Returns the statements run (for messages).
    std::vector<std::string> Apply(const core::Delta& delta);
    // "" if the IMMV's visible columns equal the defining query over the
    // given tables (default: the current ones) as multisets (numeric sums
    // and averages by their text, display scale included), and its hidden
    // state equals what the core's populate query computes; else what
    // differs.
    std::string Mismatch(const std::map<std::string, std::string>& tables = {});

  private:
    // Whether column c is compared by its text: a numeric sum or average, or
    // an expression over one, shows the query's display scale.
    bool ShowsNumericScale(const core::OutputColumn& c) const;

    core::ViewDefinition view_;
    std::string expected_;
};

// The defining query with "{t}" replaced by tables.at("t") (default:
// the table s.t itself).
std::string Substitute(const std::string& sql, const std::map<std::string, std::string>& tables);

// Text of a maintenance plan's statements, for failure messages (each
// shortened to `limit` characters).
std::string PlanText(const std::vector<std::string>& statements, size_t limit = 2500);

// Test fixture: an empty schema s, and a generator seeded by SQLB_SEED and
// the test's name.
class BehaviourTest : public ::testing::Test {
  protected:
    void SetUp() override;
    // "SQLB_SEED=... --gtest_filter=..." to repeat this case.
    std::string Repro() const;
    uint64_t seed() const { return seed_; }
    Generator& gen() { return *gen_; }

  private:
    uint64_t seed_ = 0;
    std::unique_ptr<Generator> gen_;
};

// The test environment that creates the scratch database (and drops it
// at the end, unless SQLB_KEEP is set).
::testing::Environment* NewScratchDatabase();

// Helpers to build view definitions as extension/analyze.cpp does.
core::BaseRelation Relation(const TableSpec& table, const std::string& alias,
                            const std::vector<std::string>& columns_read = {});
core::OutputColumn Plain(const std::string& name, const std::string& expr, bool not_null = false);
core::OutputColumn GroupKey(const std::string& name, const std::string& expr, bool not_null = false);
core::OutputColumn Aggregate(const std::string& name, core::AggregateKind kind, const std::string& arg = "",
                             const std::string& arg_type = "", const std::string& result_type = "bigint");
// An aggregate with FILTER (WHERE condition).
// An aggregate called with several arguments or ORDER BY (string_agg,
// array_agg, the JSON aggregates): `call` is what goes between its
// parentheses, `arg` its first argument.
core::OutputColumn CalledAggregate(const std::string& name, core::AggregateKind kind, const std::string& arg,
                                   const std::string& arg_type, const std::string& result_type,
                                   const std::string& call);
core::OutputColumn Filtered(core::OutputColumn aggregate, const std::string& condition);
// An expression over aggregates and keys: $n stands for column operands[n - 1].
core::OutputColumn Expression(const std::string& name, const std::string& sql, std::vector<size_t> operands);
// The column, hidden (not in the user's select list).
core::OutputColumn Hidden(core::OutputColumn column);
core::JoinTree Leaf(size_t occurrence);
core::JoinTree Join(core::JoinTree::Kind kind, core::JoinTree left, core::JoinTree right, const std::string& cond);

}  // namespace ivmx::sqlb
