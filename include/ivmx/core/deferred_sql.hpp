// The SQL of a deferred refresh on the delta logs: which log rows are
// pending and which a refresh consumes, the FROM-items that stand for a
// batch's changes in a delta (as logged, or netted), what is pending in a
// log, where a backlog may be split, and which applied rows are deleted.
//
// A delta log has the columns the views read of its relation plus
// __ivm_xid (the writer's transaction, xid8), __ivm_seq (the order of
// writing) and __ivm_sign (+1 inserted, -1 deleted). Values (watermarks,
// snapshots, transaction ids) are never written into the text: every
// function takes the placeholders ("$3") of parameters the caller binds.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace ivmx::core {

// SQL condition on a log row: its transaction is committed in the snapshot
// (pg_snapshot) of parameter `snapshot`.
std::string VisibleIn(const std::string& snapshot);

// The part of a transaction that its own flush applied: its id and the last
// __ivm_seq applied (placeholders).
struct PartialApplied {
    std::string xid;
    std::string seq;
};

// SQL condition on a log row: not applied by a view whose watermark is
// parameter `watermark` (NULL: none applied), i.e. its transaction is not
// in the watermark, or it is a later row of the transaction `partial`.
std::string PendingCondition(const std::string& watermark, const std::optional<PartialApplied>& partial);

// SQL condition: the rows a refresh consumes, those `pending` up to the
// snapshot of parameter `batch_end` (nullopt: every pending row).
std::string ConsumedCondition(const std::string& pending, const std::optional<std::string>& batch_end);

// SQL condition: the rows `pending` after the snapshot of parameter
// `batch_end` (the changes a split batch leaves for later).
std::string LaterCondition(const std::string& pending, const std::string& batch_end);

// What a delta reads of one log (or of a batch of it) for one occurrence.
struct LogColumnsRead {
    std::string source;                // FROM-item: the log or its batch
    std::vector<std::string> columns;  // quoted, in the order the view reads them
    // Equal values of all the columns are indistinguishable (equality is
    // identity), so rows can be matched by value.
    bool by_value = true;
};

// FROM-item with the rows of one sign (+1 or -1) that `consumed` selects, as
// logged: rows inserted and deleted within the batch cancel out in the
// delta's consolidation.
std::string LoggedSide(const LogColumnsRead& read, const std::string& consumed, int sign);

// WITH query `name` with the rows `consumed` selects netted: the columns
// read and __ivm_n, the signed number of copies of the row that the batch
// adds or removes (never 0). Only the columns read count. Rows are matched
// by value where `by_value`, else by their text image (1.0 and 1.00 are
// different rows to a view that shows them as text): per image, the rows of
// a sign beyond the count of the other sign are kept, each with
// __ivm_n = its sign.
std::string NettedLog(const LogColumnsRead& read, const std::string& consumed, const std::string& name);

// FROM-item with the rows of one sign of the netted log `name` (with the
// quoted `columns`), each repeated |__ivm_n| times unless `single` (no row
// is added or removed twice: the relation's key is among the columns).
std::string NettedSide(const std::string& name, const std::vector<std::string>& columns, int sign, bool single);

// SELECT of the rows `consumed` selects from `log` with __ivm_sign,
// __ivm_seq and the quoted `columns`: a batch as a refresh reads it.
std::string BatchRowsQuery(const std::string& log, const std::vector<std::string>& columns,
                           const std::string& consumed);

// One-row query over the rows `pending` of `log`: their count, the oldest
// transaction (text, NULL for none) and the last __ivm_seq written by the
// transaction of parameter `own_xid` (NULL for none).
std::string PendingSummaryQuery(const std::string& log, const std::string& pending, const std::string& own_xid);

// One-row query over the rows `pending` of `log`: per snapshot parameter of
// `marks`, in their order, how many of them it shows committed (the batch
// that would end there).
std::string BatchEndCountQuery(const std::string& log, const std::string& pending,
                               const std::vector<std::string>& marks);

// SQL condition: a log row that every consumer has applied, given the
// PendingCondition of each consumer (a row no consumer reads is applied).
std::string AppliedByAll(const std::vector<std::string>& pending_per_consumer);

// DELETE of the rows of `log` that `applied` (AppliedByAll) selects.
std::string DeleteAppliedRows(const std::string& log, const std::string& applied);

// One-row query: whether every row of `log` is `applied` (AppliedByAll).
std::string AllRowsAppliedQuery(const std::string& log, const std::string& applied);

}  // namespace ivmx::core
