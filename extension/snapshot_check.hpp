// Serialization checks for full recomputes in REPEATABLE READ / SERIALIZABLE.
#pragma once

#include <vector>

#include "ivmx/pg/postgres.hpp"

namespace ivmx::pg {

// In REPEATABLE READ or SERIALIZABLE, raises a serialization failure
// (40001) if any of the relations, already locked against writers by the
// caller, was changed by a transaction that committed after this
// transaction's snapshot was taken: a recompute from that snapshot would
// miss the change. Does nothing in READ COMMITTED, where every statement
// takes a new snapshot after the lock.
void EnsureSnapshotSeesLatest(const std::vector<Oid>& relids);

}  // namespace ivmx::pg
