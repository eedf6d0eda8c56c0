// IMMV verification and mismatch reports (see checker.hpp).
#include "checker.hpp"

namespace stress {

namespace {

const size_t kMaxDiffRows = 20;

std::string VerifySql(const std::vector<const View*>& views) {
    std::string sql = "SELECT ";
    for (size_t i = 0; i < views.size(); ++i)
        sql += (i > 0 ? ", " : "") + std::string("ivmx.verify_immv(") + Quote(views[i]->name) + ")";
    return sql;
}

std::string FormatRow(const Row& row) {
    std::string out = "(";
    for (size_t i = 0; i < row.size(); ++i) out += (i > 0 ? ", " : "") + (row[i] ? *row[i] : std::string("NULL"));
    return out + ")";
}

// The IMMV's user-visible columns (not the engine's __ivm* state), in order.
std::string VisibleColumns(Connection& conn, const View& view) {
    SqlResult result = conn.MustExec(
        "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute "
        "WHERE attrelid = " +
        Quote(view.name) +
        "::regclass AND attnum > 0 AND NOT attisdropped "
        "AND attname NOT LIKE '\\_\\_ivm%'");
    return result.rows.at(0).at(0).value_or("*");
}

std::string DiffSection(Connection& conn, const std::string& title, const std::string& sql) {
    SqlResult result = conn.Exec(sql);
    std::string out = title + "\n  " + sql + "\n";
    if (!result.ok) return out + "  failed: " + result.Summary() + "\n";
    for (size_t i = 0; i < result.rows.size() && i < kMaxDiffRows; ++i) out += "  " + FormatRow(result.rows[i]) + "\n";
    if (result.rows.size() > kMaxDiffRows)
        out += "  ... " + std::to_string(result.rows.size() - kMaxDiffRows) + " more\n";
    if (result.rows.empty()) out += "  (no rows)\n";
    return out;
}

}  // namespace

std::vector<Mismatch> Verify(Connection& conn, const std::vector<const View*>& views) {
    std::vector<Mismatch> mismatches;
    if (views.empty()) return mismatches;
    SqlResult result = conn.MustExec(VerifySql(views));
    for (size_t i = 0; i < views.size(); ++i) {
        const long differing = std::stol(result.rows.at(0).at(i).value_or("-1"));
        if (differing != 0) mismatches.push_back({views[i], differing});
    }
    return mismatches;
}

std::vector<Mismatch> VerifyAll(Connection& conn) {
    std::vector<const View*> all;
    for (const View& view : Views()) all.push_back(&view);
    return Verify(conn, all);
}

std::vector<const View*> ViewsInMode(bool deferred) {
    std::vector<const View*> out;
    for (const View& view : Views())
        if (view.deferred == deferred) out.push_back(&view);
    return out;
}

std::string ExplainMismatch(Connection& conn, const Mismatch& mismatch) {
    const View& view = *mismatch.view;
    std::string out = "IMMV " + view.name + " (" + view.shape + ") differs from its query by " +
                      std::to_string(mismatch.differing_rows) + " row(s)\n";
    out += std::string("created ") + (view.deferred ? "deferred" : "immediate");
    // The mode now (the runners switch IMMVs between modes), as the session sees it.
    SqlResult status = conn.Exec(
        "SELECT mode || ', state ' || state || ', ' || coalesce(pending_rows, 0) || "
        "' pending log rows' FROM ivmx.immv_status WHERE immv = " +
        Quote(view.name) + "::regclass");
    if (status.ok && !status.rows.empty() && status.rows[0][0]) out += "; now " + *status.rows[0][0];
    out += "\n";
    out += "definition given:  " + view.query + "\n";
    SqlResult stored = conn.Exec("SELECT ivmx.get_immv_def(" + Quote(view.name) + ")");
    if (stored.ok && !stored.rows.empty() && stored.rows[0][0])
        out += "definition stored: " + *stored.rows[0][0] + "\n";
    const std::string columns = VisibleColumns(conn, view);
    const std::string immv = "SELECT " + columns + " FROM " + view.name;
    out += DiffSection(conn, "rows in the IMMV but not in its query:", immv + " EXCEPT ALL (" + view.query + ")");
    out += DiffSection(conn, "rows in the query but not in the IMMV:", "(" + view.query + ") EXCEPT ALL " + immv);
    // verify_immv compares some values by their text (numeric display
    // scales, json): rows equal as values may differ there.
    const std::string immv_text = "SELECT __ivm_r::text FROM (" + immv + ") AS __ivm_r";
    const std::string query_text = "SELECT __ivm_r::text FROM (" + view.query + ") AS __ivm_r";
    out += DiffSection(conn, "rows of the IMMV not in its query, as text:", immv_text + " EXCEPT ALL " + query_text);
    out += DiffSection(conn, "rows of the query not in the IMMV, as text:", query_text + " EXCEPT ALL " + immv_text);
    return out;
}

}  // namespace stress
