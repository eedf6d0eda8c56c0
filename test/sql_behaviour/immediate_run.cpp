// Random statement sequences maintained as immediate mode does (see
// immediate_run.hpp). A step is one of:
//   * one statement: its transition tables are the delta of its relation
//     (core::RelationDelta, with the in-place update of a keyed bag chosen
//     either way, as the statement's row count would choose it);
//   * a transaction of 2 to 4 statements on any of the tables: their
//     captured rows, of every relation changed, in one delta
//     (core::BuildDelta, consolidated, as transaction-scoped maintenance
//     applies them at commit);
//   * one statement changing two tables (a writable CTE): the changes of
//     both relations in one delta, each relation read in its post-state.
#include "immediate_run.hpp"

#include <cstdio>

#include "ivmx/core/sql_text.hpp"

namespace ivmx::sqlb {

namespace {

int64_t RowCount(const TableSpec& table) {
    return std::stoll(*Db().Scalar("SELECT count(*) FROM " + Qualified(table.name)));
}

bool Captured(const std::string& table) {
    return Db().Scalar("SELECT EXISTS (SELECT FROM " + table + ")") == Value("t");
}

// A writable CTE changing two tables in one statement.
std::string TwoTableStatement(const std::string& first, const std::string& second) {
    return "WITH __w1 AS (" + first + " RETURNING 1), __w2 AS (" + second +
           " RETURNING 1) SELECT (SELECT count(*) FROM __w1) + (SELECT count(*) FROM __w2)";
}

}  // namespace

bool RunImmediate(Immv& immv, const std::vector<TableSpec>& tables, Generator& gen, const std::string& repro,
                  ImmediateOptions options, int initial_rows) {
    const core::ViewDefinition& view = immv.view();
    // A join tree reads whole rows as values of the relation's row type: its
    // change sources must give rows of type record, as an ephemeral named
    // relation does.
    const bool join_tree = view.join_tree.has_value();
    gen.AllowNonFinite(options.non_finite);
    for (const auto& t : tables) CreateTable(t, initial_rows, gen);
    immv.Create();
    if (std::string m = immv.Mismatch(); !m.empty()) {
        ADD_FAILURE() << "after creation: " << m << repro;
        return false;
    }
    std::vector<std::string> history;
    int transactions = 0, two_table_steps = 0;
    int64_t rows_changed = 0;
    const int steps = options.steps * Scale();
    for (int step = 1; step <= steps; ++step) {
        ClearCaptured(tables);
        std::vector<std::string> statements;
        const double kind = std::uniform_real_distribution<double>(0, 1)(gen.rng());
        const bool two_tables = tables.size() > 1 && kind < options.two_table_share;
        const bool transaction = !two_tables && kind < options.two_table_share + options.transaction_share;
        const TableSpec& first = gen.Pick(tables);
        if (two_tables) {
            const TableSpec* second = &gen.Pick(tables);
            while (second->name == first.name) second = &gen.Pick(tables);
            statements.push_back(TwoTableStatement(gen.Statement(first, RowCount(first), options.key_updates),
                                                   gen.Statement(*second, RowCount(*second), options.key_updates)));
        } else if (transaction) {
            const int n = gen.Int(2, 4);
            for (int i = 0; i < n; ++i) {
                const TableSpec& t = gen.Pick(tables);
                statements.push_back(gen.Statement(t, RowCount(t), options.key_updates));
            }
        } else {
            statements.push_back(gen.Statement(first, RowCount(first), options.key_updates));
        }
        std::string label = "step " + std::to_string(step) +
                            (two_tables    ? " (one statement, two tables)"
                             : transaction ? " (transaction, netted)"
                                           : " (statement)");
        history.push_back(label + ":");
        for (const auto& s : statements) history.push_back("    " + s + ";");

        std::vector<std::string> run;
        std::string failure;
        try {
            Db().Exec("BEGIN");
            for (const auto& s : statements) Db().Exec(s);
            for (const auto& t : tables)
                rows_changed +=
                    std::stoll(*Db().Scalar("SELECT (SELECT count(*) FROM " + Qualified("__new_" + t.name) +
                                            ") + (SELECT count(*) FROM " + Qualified("__old_" + t.name) + ")"));
            transactions += transaction;
            two_table_steps += two_tables;
            core::Delta delta;
            if (!two_tables && !transaction) {
                const std::string& s = statements[0];
                const bool inserts = s.rfind("INSERT", 0) == 0 || s.rfind("UPDATE", 0) == 0;
                const bool deletes = s.rfind("DELETE", 0) == 0 || s.rfind("UPDATE", 0) == 0;
                delta = core::RelationDelta(view, first.relation_id, inserts ? InsertedRows(first, join_tree) : "",
                                            deletes ? DeletedRows(first, join_tree) : "");
                delta.update_in_place = gen.Chance(0.5);
            } else {
                std::vector<core::ChangedOccurrence> changed;
                for (size_t i = 0; i < view.relations.size(); ++i)
                    for (const auto& t : tables) {
                        if (t.relation_id != view.relations[i].relation_id) continue;
                        const bool ins = Captured(Qualified("__new_" + t.name));
                        const bool del = Captured(Qualified("__old_" + t.name));
                        // A relation that had statements but no rows changed
                        // may be named with empty sources too.
                        const bool name_empty = gen.Chance(0.3);
                        if (!ins && !del && !name_empty) continue;
                        changed.push_back({i, ins || name_empty ? InsertedRows(t, join_tree) : "",
                                           del || name_empty ? DeletedRows(t, join_tree) : ""});
                    }
                delta = core::BuildDelta(view, changed);
                delta.consolidate = true;
            }
            run = immv.Apply(delta);
            Db().Exec("COMMIT");
            failure = immv.Mismatch();
        } catch (const std::exception& e) {
            try {
                Db().Exec("ROLLBACK");
            } catch (const std::exception&) {
            }
            failure = std::string("error: ") + e.what() + "\n";
        }
        if (!failure.empty()) {
            std::string shown;
            const size_t from = history.size() > 60 ? history.size() - 60 : 0;
            for (size_t i = from; i < history.size(); ++i) shown += "  " + history[i] + "\n";
            ADD_FAILURE() << "IMMV " << core::QuoteQualified(view.immv) << " wrong after " << label << "\n"
                          << failure << "statements so far" << (from ? " (the last ones)" : "") << ":\n"
                          << shown << "maintenance statements of the step:\n"
                          << PlanText(run) << repro;
            return false;
        }
    }
    // What the sequence did, to show that it did something.
    std::printf("    %d steps (%d transactions, %d of two tables), %lld rows changed; IMMV of %s rows at the end\n",
                steps, transactions, two_table_steps, static_cast<long long>(rows_changed),
                Db().Scalar("SELECT count(*) FROM " + core::QuoteQualified(view.immv))->c_str());
    return true;
}

}  // namespace ivmx::sqlb
