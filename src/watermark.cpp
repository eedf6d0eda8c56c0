// Watermarks and scheduling policy (see include/ivmx/core/watermark.hpp).
#include "ivmx/core/watermark.hpp"

#include <algorithm>
#include <limits>
#include <sstream>

namespace ivmx::core {

bool XidSnapshot::Visible(uint64_t xid) const {
    if (xid >= xmax) return false;
    return !std::binary_search(xip.begin(), xip.end(), xid);
}

std::string XidSnapshot::ToText() const {
    std::string text = std::to_string(xmin) + ":" + std::to_string(xmax) + ":";
    for (size_t i = 0; i < xip.size(); ++i) {
        if (i > 0) text += ",";
        text += std::to_string(xip[i]);
    }
    return text;
}

std::optional<XidSnapshot> XidSnapshot::Parse(const std::string& text) {
    XidSnapshot s;
    std::istringstream in(text);
    char colon1 = 0, colon2 = 0;
    if (!(in >> s.xmin >> colon1 >> s.xmax >> colon2) || colon1 != ':' || colon2 != ':') return std::nullopt;
    uint64_t xid = 0;
    while (in >> xid) {
        s.xip.push_back(xid);
        char comma = 0;
        if (!(in >> comma)) break;
        if (comma != ',') return std::nullopt;
    }
    if (s.xmin > s.xmax) return std::nullopt;
    std::sort(s.xip.begin(), s.xip.end());
    return s;
}

XidSnapshot ConsumedThrough(const XidSnapshot& seen, const XidSnapshot& previous, uint64_t own_xid, uint64_t boundary) {
    // Applied afterwards: x visible in `seen` and (x below the boundary or
    // x applied before), plus our own id when below the boundary.
    const uint64_t cut = std::min(seen.xmax, boundary);
    XidSnapshot out;
    out.xmax = std::max(cut, std::min(previous.xmax, seen.xmax));
    for (uint64_t x : seen.xip)
        if (x < out.xmax && x != own_xid) out.xip.push_back(x);
    for (uint64_t x : previous.xip)  // not applied before, and beyond the cut
        if (x >= cut && x < out.xmax) out.xip.push_back(x);
    if (own_xid != 0 && own_xid < boundary) {
        if (own_xid >= out.xmax) {
            // Our own transaction is applied, the ones assigned meanwhile are not.
            for (uint64_t x = out.xmax; x < own_xid; ++x) out.xip.push_back(x);
            out.xmax = own_xid + 1;
        }
        out.xip.erase(std::remove(out.xip.begin(), out.xip.end(), own_xid), out.xip.end());
    }
    std::sort(out.xip.begin(), out.xip.end());
    out.xip.erase(std::unique(out.xip.begin(), out.xip.end()), out.xip.end());
    out.xmin = out.xip.empty() ? out.xmax : std::min(out.xip.front(), out.xmax);
    return out;
}

XidSnapshot WithPending(const XidSnapshot& snapshot, uint64_t xid) {
    XidSnapshot out = snapshot;
    if (xid == 0 || !out.Visible(xid)) return out;
    out.xip.insert(std::lower_bound(out.xip.begin(), out.xip.end(), xid), xid);
    out.xmin = std::min(out.xmin, xid);
    return out;
}

bool Includes(const XidSnapshot& later, const XidSnapshot& earlier) {
    // What `later` does not apply: its running transactions, and all from its xmax on.
    for (uint64_t xid : later.xip)
        if (earlier.Visible(xid)) return false;
    if (earlier.xmax <= later.xmax) return true;
    // Every transaction in [later.xmax, earlier.xmax) must be unapplied in earlier.
    const uint64_t span = earlier.xmax - later.xmax;
    if (span > earlier.xip.size()) return false;
    for (uint64_t xid = later.xmax; xid < earlier.xmax; ++xid)
        if (earlier.Visible(xid)) return false;
    return true;
}

std::optional<size_t> SelectBatchEnd(const std::vector<int64_t>& rows_visible, int64_t total, int64_t max_rows) {
    if (total <= max_rows) return std::nullopt;
    std::optional<size_t> newest_within, oldest_progress;
    for (size_t i = 0; i < rows_visible.size(); ++i) {
        const int64_t rows = rows_visible[i];
        if (rows <= 0 || rows >= total) continue;  // no progress, or no split
        if (rows <= max_rows) newest_within = i;
        if (!oldest_progress) oldest_progress = i;
    }
    return newest_within ? newest_within : oldest_progress;
}

}  // namespace ivmx::core
