// The harness of the behaviour tests (see harness.hpp).
#include "harness.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "ivmx/core/aggregate_rules.hpp"
#include "ivmx/core/delta_query.hpp"
#include "ivmx/core/sql_text.hpp"

namespace ivmx::sqlb {

namespace {

std::unique_ptr<Session> g_db;
std::string g_database;

class ScratchDatabase : public ::testing::Environment {
  public:
    void SetUp() override {
        g_database = "ivmx_sql_behaviour_" + std::to_string(getpid());
        try {
            Session admin("postgres");
            admin.Exec("DROP DATABASE IF EXISTS " + core::QuoteIdent(g_database));
            admin.Exec("CREATE DATABASE " + core::QuoteIdent(g_database) + " TEMPLATE template0");
            g_db = std::make_unique<Session>(g_database);
            // Maintenance statements over tables never analysed have cost
            // estimates far above jit_above_cost: compiling each one would
            // take longer than running it.
            g_db->Exec("SET jit = off");
        } catch (const std::exception& e) {
            // A fatal failure here skips every test.
            FAIL() << "no scratch database: " << e.what();
        }
        // One trigger function for every table: the statement's transition
        // tables are copied to the capture tables and, for logged tables,
        // appended to the delta log with the transaction id of sqlb.xid.
        g_db->Exec(R"sql(
CREATE FUNCTION public.sqlb_record() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE
    logged boolean := TG_ARGV[0] = 'logged';
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        EXECUTE format('INSERT INTO %I.%I SELECT * FROM __ot', TG_TABLE_SCHEMA, '__old_' || TG_TABLE_NAME);
        IF logged THEN
            EXECUTE format('INSERT INTO %I.%I SELECT current_setting(''sqlb.xid'')::xid8, -1, now(), '
                           'nextval(''s.delta_seq''), o.* FROM __ot AS o', TG_TABLE_SCHEMA, '__log_' || TG_TABLE_NAME);
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        EXECUTE format('INSERT INTO %I.%I SELECT * FROM __nt', TG_TABLE_SCHEMA, '__new_' || TG_TABLE_NAME);
        IF logged THEN
            EXECUTE format('INSERT INTO %I.%I SELECT current_setting(''sqlb.xid'')::xid8, 1, now(), '
                           'nextval(''s.delta_seq''), n.* FROM __nt AS n', TG_TABLE_SCHEMA, '__log_' || TG_TABLE_NAME);
        END IF;
    END IF;
    RETURN NULL;
END
$f$)sql");
    }

    void TearDown() override {
        if (!g_db) return;
        g_db.reset();
        if (std::getenv("SQLB_KEEP") != nullptr) {
            std::printf("sql_behaviour: kept database %s\n", g_database.c_str());
            return;
        }
        Session admin("postgres");
        admin.Exec("DROP DATABASE IF EXISTS " + core::QuoteIdent(g_database) + " WITH (FORCE)");
    }
};

uint64_t EnvNumber(const char* name, uint64_t fallback) {
    const char* text = std::getenv(name);
    if (text == nullptr || *text == '\0') return fallback;
    return std::strtoull(text, nullptr, 10);
}

// FNV-1a: the same case gets the same seed with any standard library.
uint64_t Hash(const std::string& text) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : text) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

TableSpec MakeAcc() {
    return {"acc",
            {{"id", "integer", Domain::Key},
             {"g", "integer", Domain::Group},
             {"h", "text", Domain::Text},
             {"v", "integer", Domain::Int},
             {"w", "numeric", Domain::Numeric},
             {"f", "double precision", Domain::Float}},
            1};
}

TableSpec MakeBr() {
    return {"br",
            {{"bid", "integer", Domain::Key},
             {"g", "integer", Domain::Group},
             {"name", "text", Domain::Text},
             {"x", "integer", Domain::Int}},
            2};
}

TableSpec MakeCc() {
    return {"cc",
            {{"cid", "integer", Domain::Key}, {"bid", "integer", Domain::Reference}, {"y", "integer", Domain::Int}},
            3};
}

}  // namespace

::testing::Environment* NewScratchDatabase() {
    return new ScratchDatabase();
}

Session& Db() {
    return *g_db;
}

uint64_t BaseSeed() {
    return EnvNumber("SQLB_SEED", 1);
}

int Scale() {
    return static_cast<int>(std::max<uint64_t>(1, EnvNumber("SQLB_SCALE", 1)));
}

const TableSpec& Acc() {
    static const TableSpec spec = MakeAcc();
    return spec;
}
const TableSpec& Br() {
    static const TableSpec spec = MakeBr();
    return spec;
}
const TableSpec& Cc() {
    static const TableSpec spec = MakeCc();
    return spec;
}

std::string Qualified(const std::string& table) {
    return core::QuoteQualified({"s", table});
}

std::string Generator::Literal(const ColumnSpec& column) {
    switch (column.domain) {
        case Domain::Key:
            return std::to_string(++next_key_["?"]);  // not used for keys of tables (see Insert)
        case Domain::Group:
            return Chance(0.2) ? "NULL" : std::to_string(Int(1, 4));
        case Domain::Int:
            return Chance(0.15) ? "NULL" : std::to_string(Int(-3, 6));
        case Domain::Reference:
            return Chance(0.1) ? "NULL" : std::to_string(Int(1, 10));
        case Domain::Text:
            return Chance(0.15) ? "NULL" : sqlb::Literal(Pick<std::string>({"a", "b", "c", "B", "it's"}));
        case Domain::Numeric:
            if (Chance(0.15)) return "NULL";
            if (non_finite_ && Chance(0.06)) return Pick<std::string>({"'NaN'", "'Infinity'", "'-Infinity'"});
            return Pick<std::string>({"0", "1", "1.0", "1.00", "2.5", "-2.5", "10", "0.001", "-7"});
        case Domain::Float:
            if (Chance(0.15)) return "NULL";
            if (non_finite_ && Chance(0.06))
                return Pick<std::string>({"'NaN'::float8", "'Infinity'::float8", "'-Infinity'::float8"});
            return Pick<std::string>({"0.5", "-0.25", "3", "1024", "-8", "'-0'::float8", "0"});
    }
    return "NULL";
}

std::string Generator::Insert(const TableSpec& table, int rows) {
    int& next = next_key_[table.name];
    std::vector<std::string> tuples;
    for (int r = 0; r < rows; ++r) {
        std::vector<std::string> values{std::to_string(++next)};
        for (size_t c = 1; c < table.columns.size(); ++c) values.push_back(Literal(table.columns[c]));
        tuples.push_back("(" + core::Join(values, ", ") + ")");
    }
    return "INSERT INTO " + Qualified(table.name) + " VALUES " + core::Join(tuples, ", ");
}

std::string Generator::Predicate(const TableSpec& table) {
    const std::string key = core::QuoteIdent(table.columns[0].name);
    const int choice = Int(0, 99);
    if (choice < 3) return "false";
    if (choice < 5) return "true";
    std::vector<const ColumnSpec*> small;
    for (const auto& c : table.columns)
        if (c.domain == Domain::Group || c.domain == Domain::Int || c.domain == Domain::Reference) small.push_back(&c);
    if (choice < 45 || small.empty()) {
        const int m = Int(2, 6);
        return "abs(" + key + ") % " + std::to_string(m) + " = " + std::to_string(Int(0, m - 1));
    }
    const ColumnSpec& c = *Pick(small);
    const std::string name = core::QuoteIdent(c.name);
    if (choice < 60) return name + " IS NULL";
    if (choice < 80) return name + " = " + std::to_string(Int(1, 4));
    return name + " < " + std::to_string(Int(-1, 4));
}

std::string Generator::Statement(const TableSpec& table, int64_t rows, bool key_updates) {
    const std::string name = Qualified(table.name);
    const int insert_share = rows < 6 ? 60 : rows > 30 ? 12 : 32;
    const int copy_share = rows > 40 ? 0 : 8;
    const int choice = Int(0, 99);
    if (choice < insert_share) return Insert(table, Int(1, 3));
    if (choice < insert_share + copy_share) {
        // Copies of existing rows under fresh keys: duplicates of every
        // other column.
        int& next = next_key_[table.name];
        const int base = next;
        next += 5000;  // more than the table ever holds (rows may be counted before earlier copies ran)
        std::vector<std::string> values{std::to_string(base) + " + row_number() OVER ()"};
        for (size_t c = 1; c < table.columns.size(); ++c) values.push_back(core::QuoteIdent(table.columns[c].name));
        return "INSERT INTO " + name + " SELECT " + core::Join(values, ", ") + " FROM " + name + " WHERE " +
               Predicate(table);
    }
    if (choice < insert_share + copy_share + (100 - insert_share - copy_share) * 6 / 10) {
        const std::string key = core::QuoteIdent(table.columns[0].name);
        if (key_updates && Chance(0.12))  // abs(key) stays unique: flipping the sign never collides
            return "UPDATE " + name + " SET " + key + " = -" + key + " WHERE " + Predicate(table);
        // One or two distinct columns, each set to a literal, NULL, itself
        // (rewritten unchanged) or, for integers, itself plus one.
        std::vector<size_t> targets{static_cast<size_t>(Int(1, static_cast<int>(table.columns.size()) - 1))};
        if (Chance(0.25)) {
            const size_t other = static_cast<size_t>(Int(1, static_cast<int>(table.columns.size()) - 1));
            if (other != targets[0]) targets.push_back(other);
        }
        std::vector<std::string> sets;
        for (size_t t : targets) {
            const ColumnSpec& c = table.columns[t];
            const std::string col = core::QuoteIdent(c.name);
            std::string value = Literal(c);
            const int form = Int(0, 9);
            if (form == 0) value = col;
            if (form == 1 && c.domain != Domain::Text && c.domain != Domain::Numeric && c.domain != Domain::Float)
                value = col + " + 1";
            if (form == 2) value = "NULL";
            sets.push_back(col + " = " + value);
        }
        return "UPDATE " + name + " SET " + core::Join(sets, ", ") + " WHERE " + Predicate(table);
    }
    return "DELETE FROM " + name + " WHERE " + Predicate(table);
}

void CreateTable(const TableSpec& table, int initial_rows, Generator& gen, bool logged) {
    std::vector<std::string> defs;
    for (size_t c = 0; c < table.columns.size(); ++c)
        defs.push_back(core::QuoteIdent(table.columns[c].name) + " " + table.columns[c].type +
                       (c == 0 ? " PRIMARY KEY" : ""));
    const std::string name = Qualified(table.name);
    Db().Exec("CREATE TABLE " + name + " (" + core::Join(defs, ", ") + ")");
    if (initial_rows > 0) Db().Exec(gen.Insert(table, initial_rows));
    for (const char* side : {"__new_", "__old_"})
        Db().Exec("CREATE TABLE " + Qualified(side + table.name) + " (LIKE " + name + ")");
    if (logged) {
        std::vector<std::string> log{"__ivm_xid xid8 NOT NULL", "__ivm_sign smallint NOT NULL",
                                     "__ivm_time timestamptz NOT NULL",
                                     "__ivm_seq bigint NOT NULL DEFAULT nextval('s.delta_seq')"};
        for (const auto& c : table.columns) log.push_back(core::QuoteIdent(c.name) + " " + c.type);
        Db().Exec("CREATE TABLE " + Qualified("__log_" + table.name) + " (" + core::Join(log, ", ") + ")");
    }
    const std::string arg = logged ? "'logged'" : "'captured'";
    const std::string body = " FOR EACH STATEMENT EXECUTE FUNCTION public.sqlb_record(" + arg + ")";
    Db().Exec("CREATE TRIGGER sqlb_ins AFTER INSERT ON " + name + " REFERENCING NEW TABLE AS __nt" + body);
    Db().Exec("CREATE TRIGGER sqlb_upd AFTER UPDATE ON " + name + " REFERENCING OLD TABLE AS __ot NEW TABLE AS __nt" +
              body);
    Db().Exec("CREATE TRIGGER sqlb_del AFTER DELETE ON " + name + " REFERENCING OLD TABLE AS __ot" + body);
}

void ClearCaptured(const std::vector<TableSpec>& tables) {
    std::vector<std::string> names;
    for (const auto& t : tables) {
        names.push_back(Qualified("__new_" + t.name));
        names.push_back(Qualified("__old_" + t.name));
    }
    Db().Exec("TRUNCATE " + core::Join(names, ", "));
}

std::string InsertedRows(const TableSpec& table, bool as_subquery) {
    const std::string name = Qualified("__new_" + table.name);
    return as_subquery ? "(SELECT * FROM " + name + ")" : name;
}

std::string DeletedRows(const TableSpec& table, bool as_subquery) {
    const std::string name = Qualified("__old_" + table.name);
    return as_subquery ? "(SELECT * FROM " + name + ")" : name;
}

std::string Substitute(const std::string& sql, const std::map<std::string, std::string>& tables) {
    std::string out;
    for (size_t i = 0; i < sql.size(); ++i) {
        if (sql[i] == '{') {
            const size_t end = sql.find('}', i);
            if (end != std::string::npos) {
                const std::string name = sql.substr(i + 1, end - i - 1);
                auto it = tables.find(name);
                out += Qualified(it == tables.end() ? name : it->second);
                i = end;
                continue;
            }
        }
        out += sql[i];
    }
    return out;
}

std::string PlanText(const std::vector<std::string>& statements, size_t limit) {
    std::string out;
    for (size_t i = 0; i < statements.size(); ++i) {
        std::string text = statements[i];
        if (text.size() > limit) text = text.substr(0, limit) + " ... (" + std::to_string(text.size()) + " chars)";
        out += "    [" + std::to_string(i + 1) + "] " + text + "\n";
    }
    return out;
}

Immv::Immv(core::ViewDefinition view, std::string expected) : view_(std::move(view)), expected_(std::move(expected)) {}

void Immv::Create() {
    Db().Exec(core::CreateTableSql(view_));
    if (auto index = core::CreateIndexSql(view_)) Db().Exec(*index);
}

std::vector<std::string> Immv::Apply(const core::Delta& delta) {
    std::vector<std::string> run;
    std::vector<std::string> gone, stale;
    for (const auto& step : core::BuildMaintenancePlan(view_, delta).steps) {
        std::vector<Param> params;
        if (step.input != core::StepInput::None) {
            const std::vector<std::string>& tids = step.input == core::StepInput::TidsToDelete ? gone : stale;
            if (tids.empty()) continue;
            std::vector<std::string> quoted;
            for (const auto& t : tids) quoted.push_back("\"" + t + "\"");
            params.push_back({"{" + core::Join(quoted, ",") + "}", kTidArrayOid});
        }
        run.push_back(step.sql);
        const Rows rows = Db().Query(step.sql, params);
        if (step.reports_rows)
            for (const auto& row : rows.rows) {
                if (row.at(1) == Value("t")) gone.push_back(*row.at(0));
                if (row.at(2) == Value("t")) stale.push_back(*row.at(0));
            }
    }
    return run;
}

namespace {

bool IsNumericSumOrAvg(const core::OutputColumn& c) {
    return c.aggregate && c.aggregate->result_type == "numeric" &&
           (c.aggregate->kind == core::AggregateKind::Sum || c.aggregate->kind == core::AggregateKind::Avg);
}

// A variance or standard deviation over floats depends in its last bits on
// the order in which the rows are fed, which the recompute and the query
// (a sort for the ORDER BY of another aggregate, say) need not share: it is
// compared as real.
bool IsFloatMoment(const core::OutputColumn& c) {
    return c.aggregate && core::IsMomentKind(c.aggregate->kind) &&
           core::StrategyOf(*c.aggregate) == core::AggregateStrategy::Recompute;
}

}  // namespace

bool Immv::ShowsNumericScale(const core::OutputColumn& c) const {
    if (IsNumericSumOrAvg(c)) return true;
    if (c.role != core::ColumnRole::AggregateExpression) return false;
    for (size_t j : c.operands)
        if (j < view_.columns.size() && IsNumericSumOrAvg(view_.columns[j])) return true;
    return false;
}

std::string Immv::Mismatch(const std::map<std::string, std::string>& tables) {
    const std::string immv = core::QuoteQualified(view_.immv);
    // Numeric sums and averages (and expressions over them) must show the
    // query's display scale too: they are compared by their text; other
    // columns by equality (variances over floats as real).
    std::vector<std::string> names, stored_list, expected_list;
    for (const auto& c : view_.columns) {
        if (c.hidden) continue;
        const std::string name = core::QuoteIdent(c.name);
        names.push_back(name);
        const bool as_text = ShowsNumericScale(c);
        const bool as_real = IsFloatMoment(c);
        auto compared = [&](const std::string& ref) {
            return as_text ? "CAST(" + ref + " AS text)" : as_real ? "CAST(" + ref + " AS real)" : ref;
        };
        stored_list.push_back(compared("__s." + name));
        expected_list.push_back(compared("__q." + name));
    }
    const std::string stored = "SELECT " + core::Join(stored_list, ", ") + " FROM " + immv + " AS __s";
    const std::string expected = "SELECT " + core::Join(expected_list, ", ") + " FROM (" +
                                 Substitute(expected_, tables) + ") AS __q(" + core::Join(names, ", ") + ")";
    std::string out;
    const Rows diff = Db().Query("SELECT 'missing' AS __side, * FROM (" + expected + " EXCEPT ALL " + stored +
                                 ") AS __m UNION ALL SELECT 'unexpected', * FROM (" + stored + " EXCEPT ALL " +
                                 expected + ") AS __u");
    if (!diff.rows.empty()) {
        out += "the IMMV differs from its defining query (rows missing from it, rows it should not hold):\n" +
               Describe(diff) + "  IMMV:\n" + Describe(Db().Query(stored + " ORDER BY 1")) + "  defining query:\n" +
               Describe(Db().Query(expected + " ORDER BY 1"));
    }
    // The hidden state: what the core's own populate query computes over
    // the same tables (the lost-extreme flags are scratch, always NULL).
    core::ViewDefinition over = view_;
    for (auto& rel : over.relations) {
        auto it = tables.find(rel.name.name);
        if (it != tables.end()) rel.name.name = it->second;
    }
    std::vector<std::string> state;
    std::vector<std::string> lost;
    for (const auto& t : core::TableLayout(view_)) {
        const std::string name = core::QuoteIdent(t.name);
        if (t.kind == core::TableColumn::Kind::LostExtreme || t.kind == core::TableColumn::Kind::Unevaluated)
            // Scratch flags, only read in the statement writing them: a new
            // group may keep false, but a row left flagged was not
            // recomputed (or its expressions not evaluated).
            lost.push_back(name + " IS TRUE");
        else if (t.kind == core::TableColumn::Kind::AvgSum || t.kind == core::TableColumn::Kind::VarSum ||
                 t.kind == core::TableColumn::Kind::SquareSum)
            // Without non-null inputs a running sum means nothing (a
            // maintained one may be 0 where a fresh one is NULL).
            state.push_back("CASE WHEN " + core::QuoteIdent(core::NonNullCountColumn(t.index)) +
                            " = 0 THEN NULL ELSE " + name + " END");
        else if (t.kind == core::TableColumn::Kind::Output && IsFloatMoment(view_.columns[t.index]))
            state.push_back("CAST(" + name + " AS real)");
        else
            state.push_back(name);
    }
    const std::string stored_state = "SELECT " + core::Join(state, ", ") + " FROM " + immv;
    const std::string computed =
        "SELECT " + core::Join(state, ", ") + " FROM (" + core::PopulateQuery(over) + ") AS __p";
    const Rows state_diff = Db().Query("SELECT 'missing' AS __side, * FROM (" + computed + " EXCEPT ALL " +
                                       stored_state + ") AS __m UNION ALL SELECT 'unexpected', * FROM (" +
                                       stored_state + " EXCEPT ALL " + computed + ") AS __u");
    if (!state_diff.rows.empty())
        out += "the IMMV's rows with their hidden state differ from a fresh population:\n" + Describe(state_diff);
    if (!lost.empty()) {
        const Value flagged = Db().Scalar("SELECT count(*) FROM " + immv + " WHERE " + core::Join(lost, " OR "));
        if (flagged != Value("0"))
            out +=
                *flagged +
                " rows keep a scratch flag: their aggregates were not recomputed or their expressions not evaluated\n";
    }
    return out;
}

void BehaviourTest::SetUp() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    seed_ = BaseSeed() * 1000003ull ^ Hash(std::string(info->test_suite_name()) + "." + info->name());
    gen_ = std::make_unique<Generator>(seed_);
    Db().Exec("ROLLBACK");  // in case a failed case left a transaction open
    Db().Exec("DROP SCHEMA IF EXISTS s CASCADE; CREATE SCHEMA s; CREATE SEQUENCE s.delta_seq");
}

std::string BehaviourTest::Repro() const {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return "repeat with: SQLB_SEED=" + std::to_string(BaseSeed()) +
           " sql_behaviour_tests --gtest_filter=" + info->test_suite_name() + "." + info->name();
}

core::BaseRelation Relation(const TableSpec& table, const std::string& alias,
                            const std::vector<std::string>& columns_read) {
    return {{"s", table.name}, alias, table.relation_id, columns_read};
}

core::OutputColumn Plain(const std::string& name, const std::string& expr, bool not_null) {
    core::OutputColumn c;
    c.name = name;
    c.role = core::ColumnRole::Plain;
    c.expression_sql = expr;
    c.not_null = not_null;
    return c;
}

core::OutputColumn GroupKey(const std::string& name, const std::string& expr, bool not_null) {
    core::OutputColumn c = Plain(name, expr, not_null);
    c.role = core::ColumnRole::GroupKey;
    return c;
}

core::OutputColumn Aggregate(const std::string& name, core::AggregateKind kind, const std::string& arg,
                             const std::string& arg_type, const std::string& result_type) {
    core::OutputColumn c;
    c.name = name;
    c.role = core::ColumnRole::Aggregate;
    core::Aggregate agg;
    agg.kind = kind;
    agg.argument_sql = arg;
    agg.argument_type = arg_type;
    agg.result_type = result_type;
    c.aggregate = agg;
    return c;
}

core::OutputColumn CalledAggregate(const std::string& name, core::AggregateKind kind, const std::string& arg,
                                   const std::string& arg_type, const std::string& result_type,
                                   const std::string& call) {
    core::OutputColumn c = Aggregate(name, kind, arg, arg_type, result_type);
    c.aggregate->call_arguments_sql = call;
    c.aggregate->ordered = call.find(" ORDER BY ") != std::string::npos;
    return c;
}

core::OutputColumn Filtered(core::OutputColumn aggregate, const std::string& condition) {
    aggregate.aggregate->filter_sql = condition;
    return aggregate;
}

core::OutputColumn Expression(const std::string& name, const std::string& sql, std::vector<size_t> operands) {
    core::OutputColumn c;
    c.name = name;
    c.role = core::ColumnRole::AggregateExpression;
    c.expression_sql = sql;
    c.operands = std::move(operands);
    return c;
}

core::OutputColumn Hidden(core::OutputColumn column) {
    column.hidden = true;
    return column;
}

core::JoinTree Leaf(size_t occurrence) {
    core::JoinTree t;
    t.occurrence = occurrence;
    return t;
}

core::JoinTree Join(core::JoinTree::Kind kind, core::JoinTree left, core::JoinTree right, const std::string& cond) {
    core::JoinTree t;
    t.kind = kind;
    t.condition_sql = cond;
    t.children.push_back(std::move(left));
    t.children.push_back(std::move(right));
    return t;
}

}  // namespace ivmx::sqlb
