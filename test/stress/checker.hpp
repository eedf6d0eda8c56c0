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

// The same for the given IMMVs only (none: no round trip).
std::vector<Mismatch> Verify(Connection& conn, const std::vector<const View*>& views);

// The IMMVs of Views() created in immediate mode, and those created deferred.
std::vector<const View*> ViewsInMode(bool deferred);

// A multi-line report of one mismatch, read in the same session and state.
std::string ExplainMismatch(Connection& conn, const Mismatch& mismatch);

}  // namespace stress
