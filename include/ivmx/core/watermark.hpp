// Watermarks of deferred IMMVs and the scheduling policy around them.
//
// A deferred IMMV remembers the set of writer transactions whose logged
// changes it has applied, as a snapshot in pg_snapshot's text form
// "xmin:xmax:xip,...": a transaction id is applied iff it is below xmax and
// not listed. The pending changes of a view are the logged rows of
// transactions not applied yet.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ivmx::core {

struct XidSnapshot {
    uint64_t xmin = 1;
    uint64_t xmax = 1;
    std::vector<uint64_t> xip;  // sorted, each in [xmin, xmax)

    bool Visible(uint64_t xid) const;
    std::string ToText() const;
    // Parses pg_snapshot text; nullopt when malformed.
    static std::optional<XidSnapshot> Parse(const std::string& text);
};

// The watermark after a refresh that read with snapshot `seen` and consumed
// every pending transaction below `boundary` (UINT64_MAX: all of them): the
// transactions applied before (`previous`) stay applied, those `seen`
// reports committed below the boundary are added. The refreshing
// transaction's own id `own_xid` (0 if it logged nothing) counts as applied
// when below the boundary: its rows were visible to it.
XidSnapshot ConsumedThrough(const XidSnapshot& seen, const XidSnapshot& previous, uint64_t own_xid, uint64_t boundary);

// The snapshot with transaction `xid` marked as not applied (a transaction
// sees itself as neither running nor committed: pg_snapshot lists other
// transactions only). Used when a transaction starts deferred maintenance
// and keeps writing: its later rows must stay pending.
XidSnapshot WithPending(const XidSnapshot& snapshot, uint64_t xid);

// Whether every transaction applied in `earlier` is applied in `later` too
// (later was taken after earlier, or equals it).
bool Includes(const XidSnapshot& later, const XidSnapshot& earlier);

// Where a backlog larger than max_rows is split. Transaction ids do not
// follow commit order, so a batch can only end at a snapshot taken earlier:
// the transactions it shows committed are a prefix of the commits. Given,
// for snapshots taken after the watermark (oldest first), how many of the
// `total` pending rows each one shows committed, returns the one to end the
// batch at: the newest whose batch stays within max_rows, else the oldest
// that makes progress. nullopt: take everything (it fits, or no snapshot
// splits the backlog).
std::optional<size_t> SelectBatchEnd(const std::vector<int64_t>& rows_visible, int64_t total, int64_t max_rows);

}  // namespace ivmx::core
