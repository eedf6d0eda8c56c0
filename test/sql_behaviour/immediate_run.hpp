// Random sequences of statements on base tables, each followed by the
// maintenance of an IMMV as immediate mode does it, and the comparison of
// the IMMV with its defining query after every step.
#pragma once

#include <string>
#include <vector>

#include "harness.hpp"

namespace ivmx::sqlb {

struct ImmediateOptions {
    int steps = 80;  // multiplied by SQLB_SCALE
    // Statements may change primary keys (of every table).
    bool key_updates = true;
    // Share of steps that are transactions of several statements, applied
    // once with their changes netted (transaction-scoped maintenance).
    double transaction_share = 0.25;
    // Share of steps that are one statement changing two tables (a writable
    // CTE): one delta for both changed relations. Only with two tables.
    double two_table_share = 0.15;
    // NaN and infinities among numeric and float values.
    bool non_finite = false;
};

// Runs `options.steps` random steps on `tables` (created, filled with
// `initial_rows` rows each, captured), maintaining `immv` (created after
// the initial rows) after each; reports the first difference with
// ADD_FAILURE, with `repro` and the statements that led to it. Returns
// whether every step matched.
bool RunImmediate(Immv& immv, const std::vector<TableSpec>& tables, Generator& gen, const std::string& repro,
                  ImmediateOptions options = {}, int initial_rows = 12);

}  // namespace ivmx::sqlb
