// Cluster-wide scheduler settings of the stress test (see server_settings.hpp).
#include "server_settings.hpp"

#include <chrono>
#include <cstdio>
#include <thread>

namespace stress {

namespace {

const auto kAwaitLimit = std::chrono::seconds(5);
const auto kAwaitPause = std::chrono::milliseconds(5);

}  // namespace

const std::vector<int>& BatchRowChoices() {
    static const std::vector<int> choices = {1, 2, 3, 5, 20};
    return choices;
}

int PickBatchRows(Rng& rng, int current) {
    for (;;) {
        const int rows = rng.Pick(BatchRowChoices());
        if (rows != current) return rows;
    }
}

std::vector<std::string> ChangeSettingSql(const std::string& name, const std::string& value) {
    return {value.empty() ? "ALTER SYSTEM RESET " + name : "ALTER SYSTEM SET " + name + " = " + Quote(value),
            "SELECT pg_reload_conf()"};
}

bool AwaitSetting(Connection& conn, const std::string& name, const std::string& value) {
    // The value the configuration files give once reloaded: ours, or (after a
    // RESET) whatever postgresql.conf says, or the built-in default.
    // (The values the run sets are spelled as the server prints them.)
    const std::string target = value.empty()
                                   ? "coalesce((SELECT setting FROM pg_file_settings WHERE name = " + Quote(name) +
                                         " AND error IS NULL ORDER BY seqno DESC LIMIT 1), (SELECT boot_val FROM "
                                         "pg_settings WHERE name = " +
                                         Quote(name) + "))"
                                   : Quote(value);
    const std::string sql = "SELECT current_setting(" + Quote(name) + ") = " + target;
    const auto deadline = std::chrono::steady_clock::now() + kAwaitLimit;
    for (;;) {
        // Each round trip lets the backend take in a pending reload.
        if (conn.Scalar(sql) == "t") return true;
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(kAwaitPause);
    }
}

void SettingsGuard::Restore() {
    if (restored_) return;
    Connection conn("postgres");
    for (const char* name : {kMaxBatchRows, kFullRefreshRatio, kSchedulerEnabled})
        for (const std::string& sql : ChangeSettingSql(name, "")) {
            if (history_ != nullptr) history_->Record(0, sql + ";", "reset at the end of the run");
            conn.MustExec(sql);
        }
    restored_ = true;
}

SettingsGuard::~SettingsGuard() {
    try {
        Restore();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "stress: WARNING: could not reset %s, %s and %s (ALTER SYSTEM RESET): %s\n", kMaxBatchRows,
                     kFullRefreshRatio, kSchedulerEnabled, e.what());
    }
}

}  // namespace stress
