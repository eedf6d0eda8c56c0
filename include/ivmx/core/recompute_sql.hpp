// The maintenance statements of views whose rows are computed again in part
// rather than from deltas: a top-K (TopK) and a window or DISTINCT ON view
// (PartitionRecompute).
#pragma once

#include "ivmx/core/sql_writer.hpp"
#include "ivmx/core/view_ir.hpp"

namespace ivmx::core {

// The statement bringing a top-K IMMV to the top rows of its query now:
// the rows it holds and the rows computed again are numbered among equal
// rows (compared as text: display scales count); those only in the IMMV
// are deleted, those only computed inserted. Reads no changed row.
MaintenanceStep TopKDiff(const ViewDefinition& view);

// The statement recomputing the partitions of a window / DISTINCT ON view
// that the delta's rows belong to: their keys from the changed rows, their
// IMMV rows deleted, then computed again from the base. Without keys, the
// whole view.
MaintenanceStep RecomputePartitions(const ViewDefinition& view, const Delta& delta);

}  // namespace ivmx::core
