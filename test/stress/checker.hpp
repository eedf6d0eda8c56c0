// Checks the IMMVs against their defining queries with ivmx.verify_immv, and
// explains a mismatch: the stored definition and the rows by which the IMMV
// and its query differ, both ways (EXCEPT ALL over the visible columns).
#pragma once

#include <string>
#include <vector>

#include "pg.hpp"
#include "schema.hpp"

namespace stress {

struct Mismatch {
    const View* view;
    long differing_rows;  // what verify_immv returned
};

// Verifies every IMMV of Views() in one round trip, in the session's current
// transaction and snapshot. Throws DatabaseError if verification itself fails.
std::vector<Mismatch> VerifyAll(Connection& conn);

// A multi-line report of one mismatch, read in the same session and state.
std::string ExplainMismatch(Connection& conn, const Mismatch& mismatch);

}  // namespace stress
