// The analysed definitions of IMMVs, kept per backend: an IMMV's stored
// defining query analysed into the view IR (with the IMMV's own column names),
// its owner, and whether other IMMVs read it. Analysed once, then reused until
// an invalidation says that something the analysis read has changed. Every
// ViewMaintainer is built on one (LoadMaintainer, extension/maintainer.hpp):
// immediate maintenance's per-relation cache, the deferred refresh (a
// scheduler runs many refreshes of the same IMMVs in one process) and the
// SQL-callable functions share them.
//
// An analysis goes stale, and is made again on next use, on
//  * a relcache invalidation of the IMMV or of a relation its query reads
//    (ALTER TABLE, RENAME, SET SCHEMA, OWNER TO, index and constraint changes,
//    DROP), or a relcache reset. pg_ivmx sends one for the IMMV whenever its
//    catalog row changes in a way maintenance must see (mode switch, refresh,
//    suspension, a new or dropped IMMV reading it: InvalidatePlans, ddl.hpp);
//  * a syscache invalidation of a function, operator, type or collation the
//    query uses (the analysis deparses them by name), or of any schema;
//  * a stored query that differs from the one analysed (checked on every use).
// The invalidation callbacks are extension/maintainer.cpp's; an entry of its
// per-relation cache built on an analysis gone stale is stale too.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "catalog.hpp"
#include "ivmx/core/view_ir.hpp"
#include "ivmx/pg/postgres.hpp"

namespace ivmx::pg {

struct AnalysedView {
    std::string query_tree;  // the stored query it was made from (ImmvRecord::query_tree)
    core::ViewDefinition definition;
    Oid owner = InvalidOid;
    bool read_by_immvs = false;  // other IMMVs read this one (its changes cascade)
    // What the analysis read: the IMMV and every relation its query reads;
    // the syscache entries (cache id, hash value) of the functions,
    // operators, types and collations its query uses.
    std::vector<Oid> relations;
    std::vector<std::pair<int, uint32>> named_objects;
    // Cleared, never set again, when one of those changes. Only the
    // invalidation callbacks write it.
    bool current = true;

    bool Reads(Oid relid) const;
    bool Names(int cache_id, uint32 hash_value) const;
};

// The analysis of the IMMV of `record` (its catalog row, read after the
// caller locked the IMMV): the kept one when it is current and was made from
// the same stored query, otherwise made now (and kept). SPI connected. The
// result stays usable, unchanged, as long as the caller holds it, also after
// it went stale.
std::shared_ptr<const AnalysedView> AnalysedImmv(const ImmvRecord& record);

// The syscaches whose invalidations make analyses stale (their callbacks are
// registered with the relcache callback, extension/maintainer.cpp).
inline constexpr int kAnalysisSyscaches[] = {PROCOID, OPEROID, TYPEOID, COLLOID, NAMESPACEOID};

// Invalidation callbacks' part: marks stale the analyses that read relid
// (every one for InvalidOid), or that use the object with the given hash
// value in syscache cache_id (every one for a hash value of 0, or for any
// change to a schema). Only flags: nothing allocated, nothing thrown, no
// PostgreSQL function called.
void InvalidateAnalysesReading(Oid relid);
void InvalidateAnalysesNaming(int cache_id, uint32 hash_value);

}  // namespace ivmx::pg
