// The SQL of a deferred refresh on the delta logs (see deferred_sql.hpp).
#include "ivmx/core/deferred_sql.hpp"

#include "ivmx/core/sql_text.hpp"

namespace ivmx::core {

namespace {

std::string SignCondition(const std::string& column, int sign) {
    return column + (sign > 0 ? " > 0" : " < 0");
}

}  // namespace

std::string VisibleIn(const std::string& snapshot) {
    return "pg_visible_in_snapshot(__ivm_xid, " + snapshot + ")";
}

std::string PendingCondition(const std::string& watermark, const std::optional<PartialApplied>& partial) {
    const std::string not_applied = "NOT pg_catalog.pg_visible_in_snapshot(__ivm_xid, " + watermark + ")";
    if (!partial) return not_applied;
    return "(" + not_applied + " OR (__ivm_xid = " + partial->xid + " AND __ivm_seq > " + partial->seq + "))";
}

std::string ConsumedCondition(const std::string& pending, const std::optional<std::string>& batch_end) {
    return batch_end ? "(" + pending + ") AND " + VisibleIn(*batch_end) : pending;
}

std::string LaterCondition(const std::string& pending, const std::string& batch_end) {
    return "(" + pending + ") AND NOT " + VisibleIn(batch_end);
}

std::string LoggedSide(const LogColumnsRead& read, const std::string& consumed, int sign) {
    return "(SELECT " + Join(read.columns, ", ") + " FROM " + read.source + " WHERE (" + consumed + ") AND " +
           SignCondition("__ivm_sign", sign) + ")";
}

std::string NettedLog(const LogColumnsRead& read, const std::string& consumed, const std::string& name) {
    const std::string list = Join(read.columns, ", ");
    if (read.by_value)
        return name + " AS MATERIALIZED (SELECT " + list + ", sum(__ivm_sign) AS __ivm_n FROM " + read.source +
               " WHERE " + consumed + " GROUP BY " + list + " HAVING sum(__ivm_sign) <> 0)";
    // One scan and one sort; the image is computed once per row, in the
    // innermost query.
    const std::string rows = "(SELECT " + list + ", __ivm_sign, __ivm_seq, CAST(ROW(" + list +
                             ") AS text) AS __ivm_img FROM " + read.source + " WHERE " + consumed + ") AS __ivm_l";
    return name + " AS MATERIALIZED (SELECT " + list + ", __ivm_sign AS __ivm_n FROM (SELECT " + list +
           ", __ivm_sign, row_number() OVER (PARTITION BY __ivm_img, __ivm_sign ORDER BY __ivm_seq) AS __ivm_rn, "
           "count(*) FILTER (WHERE __ivm_sign > 0) OVER (PARTITION BY __ivm_img) AS __ivm_ins, "
           "count(*) FILTER (WHERE __ivm_sign < 0) OVER (PARTITION BY __ivm_img) AS __ivm_del FROM " +
           rows + ") AS __ivm_w WHERE __ivm_rn > CASE WHEN __ivm_sign > 0 THEN __ivm_del ELSE __ivm_ins END)";
}

std::string NettedSide(const std::string& name, const std::vector<std::string>& columns, int sign, bool single) {
    std::vector<std::string> kept;
    for (const auto& c : columns) kept.push_back("__ivm_c." + c);
    const std::string side = SignCondition("__ivm_c.__ivm_n", sign);
    // `single` spares the planner a row multiplier whose size it cannot know.
    if (single) return "(SELECT " + Join(kept, ", ") + " FROM " + name + " AS __ivm_c WHERE " + side + ")";
    return "(SELECT " + Join(kept, ", ") + " FROM " + name +
           " AS __ivm_c, generate_series(1, abs(__ivm_c.__ivm_n)) WHERE " + side + ")";
}

std::string BatchRowsQuery(const std::string& log, const std::vector<std::string>& columns,
                           const std::string& consumed) {
    return "SELECT __ivm_sign, __ivm_seq" + std::string(columns.empty() ? "" : ", ") + Join(columns, ", ") + " FROM " +
           log + " WHERE " + consumed;
}

std::string PendingSummaryQuery(const std::string& log, const std::string& pending, const std::string& own_xid) {
    // One aggregate: no sort, and one row to read back.
    return "SELECT count(*), min(__ivm_xid)::text, max(__ivm_seq) FILTER (WHERE __ivm_xid = " + own_xid + ") FROM " +
           log + " WHERE " + pending;
}

std::string BatchEndCountQuery(const std::string& log, const std::string& pending,
                               const std::vector<std::string>& marks) {
    std::vector<std::string> counts;
    for (const auto& mark : marks) counts.push_back("count(*) FILTER (WHERE " + VisibleIn(mark) + ")");
    return "SELECT " + Join(counts, ", ") + " FROM " + log + " WHERE " + pending;
}

std::string AppliedByAll(const std::vector<std::string>& pending_per_consumer) {
    std::vector<std::string> applied;
    // IS NOT TRUE: a consumer without a watermark (NULL) recomputes, and
    // needs no row.
    for (const auto& pending : pending_per_consumer) applied.push_back("(" + pending + ") IS NOT TRUE");
    return applied.empty() ? std::string("true") : Join(applied, " AND ");
}

std::string DeleteAppliedRows(const std::string& log, const std::string& applied) {
    return "DELETE FROM " + log + " WHERE " + applied;
}

std::string AllRowsAppliedQuery(const std::string& log, const std::string& applied) {
    return "SELECT NOT EXISTS (SELECT FROM " + log + " WHERE NOT (" + applied + "))";
}

}  // namespace ivmx::core
