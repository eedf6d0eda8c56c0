// Views maintained by computing part of their rows again (see
// include/ivmx/core/recompute_sql.hpp).
#include "ivmx/core/recompute_sql.hpp"

#include <string>
#include <vector>

#include "ivmx/core/sql_text.hpp"

namespace ivmx::core {

namespace {

// The condition that makes an INSERT run after the DELETE of CTE
// __ivm_gone (which would otherwise run after it, at the statement's end):
// a row inserted may take the unique key of one deleted.
const char* const kAfterGone = "(SELECT count(*) FROM __ivm_gone) >= 0";

// The text of an IMMV row (its table columns under `alias`): compares rows
// as they show, NULLs, display scales and types without equality included.
std::string RowText(const ViewDefinition& view, const std::string& alias) {
    std::vector<std::string> columns;
    for (const auto& c : TableColumns(view)) columns.push_back(alias + "." + QuoteIdent(c));
    return "ROW(" + Join(columns, ", ") + ")::text";
}

}  // namespace

// The statement bringing a top-K IMMV to the top rows of its query now:
// the rows it holds and the rows computed again are numbered among equal
// rows; those only in the IMMV are deleted, those only computed inserted.
MaintenanceStep TopKDiff(const ViewDefinition& view) {
    const std::string columns = Join(QuoteIdents(TableColumns(view)), ", ");
    const std::string fresh_text = RowText(view, "__ivm_f"), held_text = RowText(view, "__ivm_i");
    const std::string matches = "__ivm_c.__ivm_row = __ivm_n.__ivm_row AND __ivm_c.__ivm_copy = __ivm_n.__ivm_copy";
    std::string sql = "WITH __ivm_new AS (SELECT __ivm_f.*, " + fresh_text +
                      " AS __ivm_row, row_number() OVER (PARTITION BY " + fresh_text + ") AS __ivm_copy FROM (" +
                      PopulateQuery(view) + ") __ivm_f), ";
    sql += "__ivm_cur AS (SELECT __ivm_i.ctid AS __ivm_tid, " + held_text +
           " AS __ivm_row, row_number() OVER (PARTITION BY " + held_text + ") AS __ivm_copy FROM " +
           QuoteQualified(view.immv) + " __ivm_i), ";
    sql += "__ivm_gone AS (DELETE FROM " + QuoteQualified(view.immv) +
           " __ivm_d USING __ivm_cur __ivm_c WHERE __ivm_d.ctid = __ivm_c.__ivm_tid AND NOT EXISTS (SELECT 1 FROM "
           "__ivm_new __ivm_n WHERE " +
           matches + ") RETURNING 1) ";
    sql += "INSERT INTO " + QuoteQualified(view.immv) + " (" + columns + ") SELECT " + columns +
           " FROM __ivm_new __ivm_n WHERE " + kAfterGone + " AND NOT EXISTS (SELECT 1 FROM __ivm_cur __ivm_c WHERE " +
           matches + ")";
    return {sql, StepInput::None, false};
}

// The statement recomputing the partitions of a window / DISTINCT ON view
// that the delta's rows belong to (PartitionRecompute): their keys from the
// changed rows, their IMMV rows deleted, then computed again from the base
// (after the deletes: a gating condition reads them). Without keys, the
// whole view.
MaintenanceStep RecomputePartitions(const ViewDefinition& view, const Delta& delta) {
    const PartitionRecompute& p = *view.partitions;
    const std::string columns = Join(QuoteIdents(TableColumns(view)), ", ");
    if (p.keys.empty())
        return {"WITH __ivm_gone AS (DELETE FROM " + QuoteQualified(view.immv) + " RETURNING 1) INSERT INTO " +
                    QuoteQualified(view.immv) + " (" + columns + ") SELECT * FROM (" + p.query_sql +
                    ") __ivm_f WHERE " + kAfterGone,
                StepInput::None, false};
    std::vector<std::string> touched;
    for (const auto& stream : delta.streams) {
        std::vector<std::string> keys;
        for (size_t k = 0; k < p.keys.size(); ++k) keys.push_back(p.keys[k] + " AS __ivm_k" + std::to_string(k + 1));
        touched.push_back("SELECT " + Join(keys, ", ") + " FROM " + stream.sources.at(0) + " AS " +
                          view.relations.at(0).alias);
    }
    std::vector<std::string> held;
    for (size_t k = 0; k < p.key_columns.size(); ++k)
        held.push_back(TouchedKeyCondition("__ivm_i." + QuoteIdent(p.key_columns[k]), k + 1));
    std::string sql = "WITH __ivm_touched AS (" + Join(touched, " UNION ") + "), ";
    sql += "__ivm_gone AS (DELETE FROM " + QuoteQualified(view.immv) + " __ivm_i WHERE " + Join(held, " AND ") +
           " RETURNING 1) ";
    sql += "INSERT INTO " + QuoteQualified(view.immv) + " (" + columns + ") SELECT * FROM (" + p.touched_query_sql +
           ") __ivm_f WHERE " + kAfterGone;
    MaintenanceStep step{sql, StepInput::None, false};
    AddDeltaQueries(step, delta);
    return step;
}

}  // namespace ivmx::core
