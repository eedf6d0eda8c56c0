// Switching IMMVs into and out of deferred maintenance.
#pragma once

#include "catalog.hpp"
#include "ivmx/core/view_ir.hpp"
#include "ivmx/pg/postgres.hpp"

namespace ivmx::pg {

// Starts deferred maintenance of an IMMV whose contents are current as of
// now: creates the delta logs of its base relations and sets its watermark
// to the latest snapshot. The caller holds ExclusiveLock on the IMMV.
// SPI must be connected.
void BeginDeferred(Oid immv, const core::ViewDefinition& view);

// Applies everything pending, then makes the IMMV immediate again (dropping
// logs no deferred IMMV needs). Writers of its base relations are locked
// out for the rest of the transaction.
void EndDeferred(Oid immv, const core::ViewDefinition& view);

// Sets the minimum time between refreshes of a deferred IMMV. Raises 22023
// (invalid_parameter_value) unless the interval is longer than zero, at most
// one year and has no negative part.
void SetRefreshIntervalOf(Oid immv, Datum interval);

// Checks that the view can be maintained in deferred mode (rows of a bag
// view must be comparable, since a batch may cancel itself out).
void ValidateDeferred(const core::ViewDefinition& view);

}  // namespace ivmx::pg
