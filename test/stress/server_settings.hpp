// The scheduler settings the stress test turns while it runs:
// ivmx.max_batch_rows (small, so that the background scheduler splits a
// backlog over several transactions), ivmx.full_refresh_ratio (0 for
// stretches, so that split batches stay incremental instead of being
// recomputed) and, in the sequential mode, ivmx.enabled (off for short
// stretches, so that a backlog builds up whose transaction ids are not in
// commit order). They are SIGHUP settings of the whole cluster: they are
// changed with ALTER SYSTEM and pg_reload_conf(), and reset when the run
// ends, passed or failed (SettingsGuard).
#pragma once

#include <string>
#include <vector>

#include "history.hpp"
#include "pg.hpp"
#include "rng.hpp"

namespace stress {

inline const char* const kMaxBatchRows = "ivmx.max_batch_rows";
inline const char* const kFullRefreshRatio = "ivmx.full_refresh_ratio";
inline const char* const kSchedulerEnabled = "ivmx.enabled";

// The values of ivmx.max_batch_rows a run picks from.
const std::vector<int>& BatchRowChoices();

// A random value of BatchRowChoices() other than `current` (0: any).
int PickBatchRows(Rng& rng, int current);

// The statements that set `name` to `value` for the whole cluster and reload
// the configuration (`value` empty: back to its default, ALTER SYSTEM RESET).
// ALTER SYSTEM cannot run inside a transaction block.
std::vector<std::string> ChangeSettingSql(const std::string& name, const std::string& value);

// Waits (up to a few seconds) until this session sees `name` as `value`
// (empty: as its default), so that what the session does next runs with it:
// a reload reaches each backend asynchronously. False if it never did.
bool AwaitSetting(Connection& conn, const std::string& name, const std::string& value);

// Puts the three settings back to their defaults (ALTER SYSTEM RESET, then
// pg_reload_conf()) on Restore() or, at the latest, when destroyed: a failed
// run leaves the cluster as it found it too. Uses its own connection to the
// "postgres" database, so that a broken session does not keep the cluster
// changed.
class SettingsGuard {
  public:
    // `history`: where to record the restoring statements (may be null).
    explicit SettingsGuard(History* history = nullptr) : history_(history) {}
    ~SettingsGuard();
    SettingsGuard(const SettingsGuard&) = delete;
    SettingsGuard& operator=(const SettingsGuard&) = delete;

    // Throws DatabaseError when the settings could not be reset.
    void Restore();

  private:
    History* history_;
    bool restored_ = false;
};
}  // namespace stress
