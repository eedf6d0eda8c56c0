// The model of transaction visibility the deferred tests compare the
// server's answers with: made-up transaction ids and snapshots written as
// pg_snapshot text. A transaction id x is visible in snapshot
// "xmin:xmax:xip" iff x < xmin, or x < xmax and x is not in xip (what
// pg_visible_in_snapshot computes).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "ivmx/core/sql_text.hpp"

namespace ivmx::sqlb {

struct Snap {
    uint64_t xmin = 0, xmax = 0;
    std::vector<uint64_t> xip;  // sorted, each in [xmin, xmax)

    bool Visible(uint64_t x) const {
        if (x < xmin) return true;
        if (x >= xmax) return false;
        return std::find(xip.begin(), xip.end(), x) == xip.end();
    }
    std::string Text() const {
        std::vector<std::string> ids;
        for (uint64_t x : xip) ids.push_back(std::to_string(x));
        return std::to_string(xmin) + ":" + std::to_string(xmax) + ":" + core::Join(ids, ",");
    }
};

// A partly applied transaction: its id and the last sequence number applied.
struct Partial {
    uint64_t xid;
    int64_t seq;
};

// Whether a log row (xid, seq) is pending for a consumer with a watermark
// (nullptr: none, SQL NULL) and a partly applied transaction: the rows for
// which PendingCondition is TRUE.
inline bool PendingFor(const Snap* watermark, const Partial* partial, uint64_t xid, int64_t seq) {
    if (watermark != nullptr && !watermark->Visible(xid)) return true;
    return partial != nullptr && xid == partial->xid && seq > partial->seq;
}

}  // namespace ivmx::sqlb
