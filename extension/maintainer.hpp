// Immediate maintenance: per-backend cache of prepared maintenance plans,
// their execution inside the capture triggers, and the locks writers take
// for them.
//
// For every base relation the cache holds the IMMVs that read it, each with
// its view IR and, per statement kind, the prepared (SPI_keepplan) statements
// of its maintenance plan. Entries are invalidated by relcache invalidation of
// the base relation or of an IMMV (create/drop/refresh/rename all send one),
// and by whatever makes the analysis of one of its IMMVs stale (a relation
// the IMMV reads, a function or type its query names:
// extension/analysed_views.hpp), and rebuilt on next use, so that a
// statement changing one relation builds no plan and reads no catalog row.
// (Batches of several statements' or relations' changes, and deferred
// refreshes, plan their statements for one use: ViewMaintainer::ApplyDelta;
// they reuse the analysis.)
#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "analysed_views.hpp"
#include "catalog.hpp"
#include "ivmx/core/sql_writer.hpp"
#include "ivmx/core/view_ir.hpp"
#include "ivmx/pg/postgres.hpp"

namespace ivmx::pg {

// The kind of change a statement made to a base relation; Netted: the
// changes of several statements of one transaction, inserted and deleted
// rows that may cancel each other (netted before they are applied).
enum class ChangeKind { Insert = 0, Delete = 1, Update = 2, Netted = 3 };

// Transition table names used by the capture triggers.
inline constexpr const char* kNewTableName = "__ivmx_new";
inline constexpr const char* kOldTableName = "__ivmx_old";

// The name under which a transaction's inserted (or deleted) rows of relid
// are registered when several relations' changes are applied at once.
std::string ChangedRowsName(Oid relid, bool inserted);

// The capture triggers' transition tables holding a statement's inserted and
// deleted rows (empty when the statement kind has none).
struct TransitionTables {
    std::string inserted;
    std::string deleted;
};
TransitionTables TransitionSources(ChangeKind kind);

// A lock a writer takes for an IMMV's maintenance: the IMMV itself
// (classid invalid), or an object lock (classid, relid = the IMMV, subid).
struct ImmvLock {
    Oid relid;
    Oid classid;
    int32 subid;
    LOCKMODE mode;
};

// Takes every lock of `locks`, in order, without waiting while holding any
// of those taken so far: when one is not free, the ones just taken are
// released, the busy one is waited for (and kept), and the others are tried
// again (a few times; then the rest are waited for in order). Locks held
// before (by this transaction) are kept. Used before commit, where the
// transaction has no other lock left to take: two committing transactions
// never wait for each other in a cycle, even when one already holds some of
// the IMMVs from a read that applied its changes early.
// With may_wait false, waits for none: returns false, holding none of
// `locks`, when some stay busy (a scheduled refresh tries again later).
bool LockAllOrWait(const std::vector<ImmvLock>& locks, bool may_wait = true);

// One IMMV's maintenance: its definition and prepared statements.
class ViewMaintainer {
  public:
    // changed_relation: the base relation whose changes this maintainer
    // applies (InvalidOid: refresh only).
    ViewMaintainer(const ImmvRecord& record, std::shared_ptr<const AnalysedView> analysed, Oid changed_relation);
    ~ViewMaintainer();
    ViewMaintainer(const ViewMaintainer&) = delete;
    ViewMaintainer& operator=(const ViewMaintainer&) = delete;

    // Applies the statement's transition tables (already registered with
    // SPI; `rows` rows changed) to the IMMV, as the IMMV's owner. Caller
    // holds the IMMV lock.
    void Apply(ChangeKind kind, uint64 rows);

    // Applies the changes a transaction made to several of the view's
    // relations at once (netted), each relation's rows registered with SPI
    // under ChangedRowsName; the plan is kept per set of changed sides.
    struct ChangedSides {
        Oid relid;
        bool inserted;
        bool deleted;
        bool operator<(const ChangedSides& o) const {
            return std::tie(relid, inserted, deleted) < std::tie(o.relid, o.inserted, o.deleted);
        }
    };
    void ApplyChanged(const std::vector<ChangedSides>& changed);

    // Whether the IMMV's owner may still read every column the view reads;
    // if not, the IMMV is suspended (with a WARNING) and not maintained.
    bool OwnerMayRead();

    // Applies an arbitrary delta (batched changes of several statements or
    // relations, or a deferred batch), planning its statements for this one
    // use. With a snapshot, every statement reads in it (a deferred refresh
    // reads logs and base relations consistently). Returns IMMV rows written.
    uint64 ApplyDelta(const core::Delta& delta, Snapshot snapshot = nullptr);

    // Recomputes the IMMV in `snapshot` with DELETE + INSERT, so that readers
    // keep seeing the previous contents until commit. Returns rows written.
    uint64 RecomputeAt(Snapshot snapshot);

    // Recomputes the IMMV from its base relations, as its owner.
    uint64 Refresh(bool with_data);

    Oid immv() const { return record_.relid; }
    // The IMMV's depth in the dependency DAG (1: reads base tables only).
    // Every transaction locks IMMVs in one order (LockOrderBefore), so
    // that their maintenance cannot deadlock.
    int depth() const { return depth_; }
    // The IMMVs reading this one, directly or through others (from the
    // dependency DAG, at load time, with the depth).
    const std::vector<Oid>& downstream() const { return downstream_; }
    void set_place(int depth, std::vector<Oid> downstream) {
        depth_ = depth;
        downstream_ = std::move(downstream);
    }
    bool active() const { return record_.populated && record_.mode == MaintenanceMode::Immediate; }
    bool deferred() const { return record_.populated && record_.mode == MaintenanceMode::Deferred; }
    const ImmvRecord& record() const { return record_; }
    // Whether other IMMVs read this IMMV (its changes cascade).
    bool read_by_immvs() const { return analysed_->read_by_immvs; }
    // The locks a writer of the changed relation holds on the IMMV until its
    // transaction ends, so that writers whose deltas depend on each other's
    // changes take turns (core::WriterConcurrencyOf): RowExclusiveLock on the
    // IMMV when none do; ExclusiveLock when every writer must wait for every
    // other, and also for a write that may not be its transaction's only one
    // (not `only_write`: it may go on to write the view's other relations,
    // and taking turns from the first write on spares it a lock upgrade that
    // could deadlock with its peers); otherwise RowExclusiveLock plus a lock
    // per relation of the view, shared by its writers and conflicting with
    // the other relations' writers. Only lists them: LockAllOrWait takes them.
    std::vector<ImmvLock> WriterLocks(bool only_write) const;
    // Takes the mode lock of the IMMV and of every IMMV downstream shared
    // (see LockMaintenanceForLater).
    void LockModesShared() const;
    const core::ViewDefinition& definition() const { return analysed_->definition; }
    // The relations its maintenance reads: the view's, and their partitions
    // or inheritance children (which a query reading a parent locks as it
    // runs: taken first like the others, see ReadLocks).
    const std::vector<Oid>& read_relations() const { return read_relations_; }
    // The analysis the maintainer is built on; stale once an invalidation
    // reached it (the maintainer then must not be kept).
    const AnalysedView& analysed() const { return *analysed_; }

  private:
    struct PreparedStep {
        SPIPlanPtr plan = nullptr;  // kept plan, or nullptr to run sql unprepared
        std::string sql;
        core::StepInput input = core::StepInput::None;
        bool reports_rows = false;
        bool returns_count = false;
    };
    std::vector<PreparedStep>& Prepared(ChangeKind kind, bool in_place);
    std::vector<PreparedStep> PrepareSteps(const core::Delta& delta) const;
    Snapshot MaintenanceSnapshot() const;
    uint64 RunSteps(const std::vector<PreparedStep>& steps, Snapshot snapshot = nullptr);

    ImmvRecord record_;
    std::shared_ptr<const AnalysedView> analysed_;
    const core::ViewDefinition& definition_;  // analysed_->definition
    Oid owner_;
    Oid changed_relation_;
    // How writers of changed_relation_ take turns (see WriterLocks), and
    // for PerRelation the view's relations in lock order.
    core::WriterConcurrency writer_concurrency_;
    std::vector<Oid> lock_relations_;
    std::vector<Oid> read_relations_;
    Oid lock_class_ = InvalidOid;  // ivmx.immv: the class of the per-relation writer locks
    int depth_ = 1;
    std::vector<Oid> downstream_;
    // Per change kind, for statements of few rows and of many (in place).
    std::array<std::optional<std::vector<PreparedStep>>, 8> prepared_;
    // For changes of several relations, per set of changed sides.
    std::map<std::vector<ChangedSides>, std::vector<PreparedStep>> prepared_changed_;
};

// Builds the maintainer of an IMMV from its catalog row (SPI connected), for
// changes to base relation changed_relation (InvalidOid: refresh only), on
// the IMMV's analysis kept by the backend (AnalysedImmv: analysed once per
// change of what it reads, not on every call).
std::unique_ptr<ViewMaintainer> LoadMaintainer(const ImmvRecord& record, Oid changed_relation = InvalidOid);

class DeltaLogWriter;

// What the capture triggers of one base relation maintain: its IMMVs, and
// the delta log when deferred IMMVs read it.
struct RelationMaintenance {
    std::vector<std::unique_ptr<ViewMaintainer>> views;
    std::unique_ptr<DeltaLogWriter> log;
    // The base relations whose IMMVs a statement naming this relation
    // changes: itself when IMMVs read it, and the bases among its ancestors
    // and descendants (extension/hierarchy.hpp: ServedRelations).
    std::vector<Oid> served;
    // Those of them below it (partitions of it, at any depth): the rows
    // captured on it are filtered by each one's partition constraint as it
    // is when they are captured (FilteredForPartition).
    std::vector<Oid> served_below;
    // A foreign key of the relation has an ON UPDATE or ON DELETE action: a
    // statement's transition tables may then also hold the rows its
    // cascades changed, one row in several versions (PostgreSQL gathers the changes of one query level into one set of
    // transition tables).
    bool cascaded_into = false;
    // Cleared by an invalidation of the relation (or a relcache reset).
    bool valid = false;
    // Whether the entry may be used: valid, and the analyses of its IMMVs
    // still current (extension/analysed_views.hpp).
    bool Valid() const;

    // The kind to apply an UPDATE's transition tables as: netted when
    // cascades may have changed a row twice.
    ChangeKind UpdateKind() const { return cascaded_into ? ChangeKind::Netted : ChangeKind::Update; }

    RelationMaintenance();
    ~RelationMaintenance();
    RelationMaintenance(RelationMaintenance&&) noexcept;
    RelationMaintenance& operator=(RelationMaintenance&&) noexcept;
};

// AccessShareLock on every relation the views read (read_relations), in
// OID order, each once: taken first, so that their maintenance never waits
// for one of them while holding an IMMV (a DDL statement holding a partition
// may itself wait for the IMMV at its commit).
std::vector<ImmvLock> ReadLocks(const std::vector<const ViewMaintainer*>& views);

// Whether IMMV a comes before IMMV b in the one order every transaction
// locks IMMVs in: by dependency depth, then core::ContentionRank, then OID.
bool LockOrderBefore(const ViewMaintainer& a, const ViewMaintainer& b);

// --- Looking up and locking the maintenance of a base relation ---------------
//
// A lookup (LoadedMaintenance) takes none of the locks maintenance needs.
// A statement's capture takes them once, with the lock step that fits what
// it does with its changes: LockMaintenanceForWriter (applied at its end),
// LockMaintenanceForLater (kept for the end of the transaction or of the
// outermost statement) or LockMaintenanceForChanges (several relations'
// changes applied at once, extension/transaction_changes.hpp); then it
// passes the maintenance the lock step returned along. A lock step loads the
// maintenance again and takes the locks again when an invalidation arrived
// while it waited (an IMMV dropped, renamed, refreshed or switched modes
// meanwhile).

// The maintenance of base relation relid, its IMMVs in lock order, from the
// backend's cache: loaded on first use and again after an invalidation
// (loading reads the catalog and takes AccessShareLock on every IMMV reading
// relid). Takes none of the maintenance locks. SPI must be connected. The
// result stays valid until the next call made outside maintenance
// (MaintenanceScope).
const RelationMaintenance& LoadedMaintenance(Oid relid);

// The lock step of a writer of relid whose changes are applied now, at the
// end of its statement: AccessShareLock on every relation the immediate
// IMMVs read (ReadLocks), then every immediate IMMV's writer locks
// (WriterLocks, with `only_write` as OnlyWriteOfTransaction tells), taken
// with LockAllOrWait in lock order. Deferred IMMVs are never locked by
// writers. Returns LoadedMaintenance(relid), valid with its locks held.
const RelationMaintenance& LockMaintenanceForWriter(Oid relid, bool only_write);

// The lock step of a writer of relid whose changes wait for its commit (or
// the end of its outermost statement): the mode lock of every immediate
// IMMV, and of every IMMV those feed, is taken shared, and held until the
// transaction ends; then AccessShareLock on the relations those IMMVs read.
// ivmx.set_mode takes the mode lock exclusively (LockImmvModeExclusive)
// before anything else, so that an IMMV cannot change modes between a
// writer's saving its changes for immediate maintenance and applying them.
// The writers' own locks on the IMMV come at commit, in lock order. Returns
// LoadedMaintenance(relid), valid with its locks held.
const RelationMaintenance& LockMaintenanceForLater(Oid relid);
void LockImmvModeExclusive(Oid immv);

// Object locks on (ivmx.immv, IMMV, sub-id): the mode lock
// (kModeLockSubId); the lock under which writers suspending an IMMV take
// turns (kSuspendLockSubId, extension/access.cpp); the per-relation writer
// locks, whose sub-ids are the relations' OIDs (never 0 or 1).
inline constexpr int32 kModeLockSubId = 0;
inline constexpr int32 kSuspendLockSubId = 1;

// Whether the statement being captured is its transaction's only write (see
// maintainer.cpp): its changes are applied at its end; any other write's
// changes wait for the end of the transaction (extension/transaction_changes.hpp).
bool OnlyWriteOfTransaction(Oid relid);

// Whether the loaded maintenance of relid is still valid (no invalidation
// arrived since it was loaded).
bool MaintenanceValid(Oid relid);

// Registers the invalidation callbacks of this cache and of the analyses it
// is built on (extension/analysed_views.hpp): relcache, and the syscaches
// of kAnalysisSyscaches (from _PG_init).
void RegisterMaintainerCache();

// Column names of a relation's live attributes, in order.
std::vector<std::string> AttributeNames(Oid relid);

}  // namespace ivmx::pg
