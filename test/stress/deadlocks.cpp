// Deadlock classification of the concurrent mode (see deadlocks.hpp).
#include "deadlocks.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <regex>
#include <set>

#include "schema.hpp"

namespace stress {

namespace {

// Statements remembered per session, and deadlocks reported in full.
const size_t kSentKept = 8;
const size_t kReportsKept = 5;
const size_t kShownChars = 300;

// One line of a deadlock DETAIL.
struct Wait {
    int pid = 0;
    std::string mode;
    std::string object;  // "relation 16601 of database 16384", "transaction 456", ...
    int blocker = 0;
};

std::vector<Wait> ParseWaits(const std::string& detail) {
    static const std::regex line(R"(Process (\d+) waits for (\S+) on (.+); blocked by process (\d+)\.)");
    std::vector<Wait> waits;
    for (std::sregex_iterator it(detail.begin(), detail.end(), line), end; it != end; ++it)
        waits.push_back({std::stoi((*it)[1]), (*it)[2], (*it)[3], std::stoi((*it)[4])});
    return waits;
}

std::string Shorten(const std::string& text, size_t limit = kShownChars) {
    std::string flat;
    for (char c : text) flat += (c == '\n' || c == '\t') ? ' ' : c;
    return flat.size() <= limit ? flat : flat.substr(0, limit) + " ...";
}

std::string Upper(const std::string& text, size_t limit) {
    std::string out;
    for (char c : text) {
        if (out.empty() && std::isspace(static_cast<unsigned char>(c))) continue;
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (out.size() >= limit) break;
    }
    return out;
}

bool StartsWithWord(const std::string& upper, const std::string& word) {
    return upper.compare(0, word.size(), word) == 0 &&
           (upper.size() == word.size() || !std::isalnum(static_cast<unsigned char>(upper[word.size()])));
}

// COMMIT, END and PREPARE TRANSACTION wait for nothing but pre-commit maintenance.
bool EndsTransaction(const std::string& sql) {
    const std::string upper = Upper(sql, 40);
    return StartsWithWord(upper, "COMMIT") || StartsWithWord(upper, "END") ||
           upper.compare(0, 19, "PREPARE TRANSACTION") == 0;
}

bool CallsIvmx(const std::string& sql) {
    return sql.find("ivmx.") != std::string::npos;
}

bool IsOperation(Activity activity) {
    return activity == Activity::Switch || activity == Activity::Flush || activity == Activity::Check;
}

const char* ActivityName(Activity activity) {
    switch (activity) {
        case Activity::Write:
            return "a unit of writes";
        case Activity::Switch:
            return "a unit of mode switches";
        case Activity::Flush:
            return "a flush";
        case Activity::Check:
            return "a check";
        case Activity::Settings:
            return "a settings change";
    }
    return "?";
}

// What kind of statement, for grouping deadlocks: "COMMIT", "DO block", "UPDATE", ...
// A statement sent this shortly before the error came may follow the one
// its session waited in (see Classify).
constexpr double kJustSent = 0.05;

// Statements of the run that take no lock (they cannot wait in a cycle).
bool TakesNoLock(const std::string& sql) {
    const std::string upper = Upper(sql, 40);
    for (const char* word : {"BEGIN", "START", "SET", "SAVEPOINT", "RELEASE", "ROLLBACK"})
        if (StartsWithWord(upper, word)) return true;
    return upper.find("PG_ADVISORY_UNLOCK") != std::string::npos;
}

std::string StatementKind(const std::string& sql) {
    if (EndsTransaction(sql)) return "COMMIT";
    if (CallsIvmx(sql)) return "ivmx call";
    const std::string upper = Upper(sql, 30);
    if (StartsWithWord(upper, "DO")) return "DO block";
    if (upper.find("PG_ADVISORY") != std::string::npos) return "advisory lock";
    const size_t space = upper.find_first_of(" (");
    return upper.substr(0, space);
}

// The victim's CONTEXT shows a maintenance statement (or a wait on an IMMV's row).
bool ContextShowsMaintenance(const std::string& context) {
    if (context.find("__ivm") != std::string::npos) return true;
    for (const View& view : Views())
        if (context.find("\"" + view.name + "\"") != std::string::npos) return true;
    return false;
}

}  // namespace

DeadlockClassifier::DeadlockClassifier(const std::string& dbname, const std::string& log_path) : conn_(dbname) {
    if (!log_path.empty()) log_.open(log_path, std::ios::trunc);
    database_oid_ = conn_.Scalar("SELECT oid FROM pg_database WHERE datname = current_database()");
    immv_class_oid_ = conn_.Scalar("SELECT 'ivmx.immv'::regclass::oid");
}

void DeadlockClassifier::AddSession(int index, int pid) {
    std::lock_guard<std::mutex> lock(sent_mutex_);
    session_pids_[pid] = index;
}

void DeadlockClassifier::Sent(int index, Activity activity, const std::string& sql) {
    Sending sending{std::chrono::steady_clock::now(), activity, sql.substr(0, 4 * kShownChars)};
    std::lock_guard<std::mutex> lock(sent_mutex_);
    std::vector<Sending>& sent = sent_[index];
    sent.push_back(std::move(sending));
    if (sent.size() > kSentKept) sent.erase(sent.begin());
}

DeadlockClassifier::Relation DeadlockClassifier::LookUp(unsigned long oid) {
    auto it = relations_.find(oid);
    if (it != relations_.end()) return it->second;
    Relation relation;
    SqlResult result = conn_.Exec(
        "SELECT c.relnamespace::regnamespace::text, c.relname, "
        "EXISTS (SELECT 1 FROM ivmx.immv i WHERE i.immvrelid = c.oid) FROM pg_class c WHERE c.oid = " +
        std::to_string(oid));
    if (!result.ok || result.rows.empty()) return relation;  // gone (or not found now: asked again)
    relation.found = true;
    relation.schema = result.rows[0][0].value_or("");
    relation.name = result.rows[0][1].value_or("");
    relation.immv = result.rows[0][2].value_or("f") == "t";
    relations_[oid] = relation;
    return relation;
}

DeadlockClassifier::Process DeadlockClassifier::Describe(int pid, const std::map<int, Sending>& last) {
    Process process;
    int session = -1;
    {
        std::lock_guard<std::mutex> lock(sent_mutex_);
        auto it = session_pids_.find(pid);
        if (it != session_pids_.end()) session = it->second;
    }
    std::string prefix;
    if (session < 0) {
        SqlResult result = conn_.Exec(
            "SELECT backend_type, left(coalesce(query, ''), 1000), coalesce(leader_pid, 0) "
            "FROM pg_stat_activity WHERE pid = " +
            std::to_string(pid));
        if (!result.ok || result.rows.empty()) {
            process.gone = true;
            process.label = "a process that is not a session and has ended since";
            return process;
        }
        process.backend_type = result.rows[0][0].value_or("");
        process.query = result.rows[0][1].value_or("");
        const int leader = std::stoi(result.rows[0][2].value_or("0"));
        std::lock_guard<std::mutex> lock(sent_mutex_);
        auto it = session_pids_.find(leader);
        if (leader == 0 || it == session_pids_.end()) {
            const bool vowel = std::string("aeiou").find(process.backend_type.substr(0, 1)) != std::string::npos;
            process.label = (vowel ? "an " : "a ") + process.backend_type;
            return process;
        }
        session = it->second;
        prefix = process.backend_type + " of ";
    }
    process.session = true;
    process.index = session;
    process.label = prefix + "session " + std::to_string(session + 1);
    auto it = last.find(session);
    if (it != last.end()) process.sending = &it->second;
    return process;
}

DeadlockCause DeadlockClassifier::Classify(int index, const std::string& detail, const std::string& context) {
    const auto received = std::chrono::steady_clock::now();
    // Each session's statement sent last before the error came: what it was
    // doing when the cycle formed (its statements sent since came after).
    std::map<int, Sending> last, before_last;
    {
        std::lock_guard<std::mutex> lock(sent_mutex_);
        // The statement before: a session whose last statement was sent just
        // before the error came may have sent it once the victim's abort
        // released the one it was waiting in.
        // Every statement sent in the last kJustSent may have followed the
        // one that waited (a unit's last statement, then the next unit's
        // first ones): the one before is the latest sent earlier than that.
        for (const auto& [session, sent] : sent_) {
            int seen = 0;
            for (auto it = sent.rbegin(); it != sent.rend(); ++it) {
                if (it->at > received || TakesNoLock(it->sql)) continue;
                ++seen;
                const double ago = std::chrono::duration<double>(received - it->at).count();
                if (seen >= 2 && ago >= kJustSent) {
                    before_last.emplace(session, *it);
                    break;
                }
            }
        }
        // A statement that takes no lock cannot be waiting in the cycle: a
        // session that sent one just now (released when the victim's
        // abort broke the cycle) was waiting in the one before.
        for (const auto& [session, sent] : sent_)
            for (auto it = sent.rbegin(); it != sent.rend(); ++it)
                if (it->at <= received && !TakesNoLock(it->sql)) {
                    last.emplace(session, *it);
                    break;
                }
    }
    std::lock_guard<std::mutex> lock(mutex_);
    const std::vector<Wait> waits = ParseWaits(detail);
    std::vector<std::string> maintenance, operations, notes;
    std::map<int, Process> processes;
    std::vector<int> order;  // pids as the DETAIL names them
    for (const Wait& wait : waits)
        for (int pid : {wait.pid, wait.blocker})
            if (processes.find(pid) == processes.end()) {
                processes.emplace(pid, Describe(pid, last));
                order.push_back(pid);
            }
    if (waits.empty()) maintenance.push_back("the DETAIL names no wait (not understood)");
    static const std::regex relation_re(R"(relation (\d+) of database (\d+))");
    // Whether the process waits for a row of a table that is no IMMV and
    // not pg_ivmx's: pre-commit maintenance locks no such row, so it waits
    // in a statement of its own, not in a COMMIT it sent before.
    auto waits_for_base_row = [&](int pid) {
        for (const Wait& wait : waits) {
            std::smatch m;
            if (wait.pid != pid || wait.object.compare(0, 6, "tuple ") != 0 ||
                !std::regex_search(wait.object, m, relation_re) || m[2] != database_oid_)
                continue;
            const Relation rel = LookUp(std::stoul(m[1]));
            if (rel.found && !rel.immv && rel.schema != "ivmx") return true;
        }
        return false;
    };

    // The processes of the cycle.
    for (int pid : order) {
        const Process& p = processes.at(pid);
        const std::string who = "process " + std::to_string(pid);
        std::string note = who + " (" + p.label + (p.index == index ? ", the victim" : "") + ")";
        if (p.session && p.sending != nullptr) {
            const double last_ago = std::chrono::duration<double>(received - p.sending->at).count();
            // Sent just before the error came: more likely after the
            // victim's abort released the statement before, which is the
            // one that waited (see kJustSent).
            auto previous = before_last.find(p.index);
            const bool just_sent = last_ago < kJustSent && p.index != index && previous != before_last.end() &&
                                   !(EndsTransaction(previous->second.sql) && waits_for_base_row(pid));
            const Sending& s = just_sent ? previous->second : *p.sending;
            const double ago = std::chrono::duration<double>(received - s.at).count();
            char when[64];
            std::snprintf(when, sizeof when, ", %.3f s before the error", ago);
            note += ", in " + std::string(ActivityName(s.activity)) + when + ": " + Shorten(s.sql);
            if (just_sent) note += " (then sent " + Shorten(p.sending->sql) + ")";
            if (IsOperation(s.activity) || CallsIvmx(s.sql))
                operations.push_back(who + " runs " + ActivityName(s.activity));
            // TRUNCATE takes AccessExclusiveLock on tables that writers'
            // maintenance reads (a join view's other table), like a query
            // of the writer's own reading that table would: counted with
            // the operations, not as maintenance's own cycle.
            else if (StatementKind(s.sql) == "TRUNCATE")
                operations.push_back(who + " runs TRUNCATE");
            else if (EndsTransaction(s.sql))
                maintenance.push_back(who + " waits at " + StatementKind(s.sql) + " (pre-commit maintenance)");
        } else if (!p.session) {
            if (!p.gone) note += ": " + Shorten(p.query);
            // Only sessions and pg_ivmx's schedulers work in the database:
            // a process that has ended since was a scheduler.
            if (p.gone || p.backend_type.find("ivmx") != std::string::npos)
                maintenance.push_back(who + " is " + p.label);
            else if (p.backend_type == "client backend" && CallsIvmx(p.query))
                operations.push_back(who + " calls pg_ivmx");
        }
        notes.push_back(note);
    }

    // What they waited for.
    static const std::regex object_re(R"(object (\d+) of class (\d+) of database (\d+))");
    std::vector<std::string> kinds;  // per wait, for grouping
    for (const Wait& wait : waits) {
        const Process& p = processes.at(wait.pid);
        std::string what;
        std::smatch m;
        if (std::regex_search(wait.object, m, object_re)) {
            const unsigned long oid = std::stoul(m[1]);
            if (m[2] == immv_class_oid_ && m[3] == database_oid_) {
                const Relation immv = LookUp(oid);
                const std::string name = immv.found ? immv.schema + "." + immv.name : m[1].str();
                what = "the mode or turn lock of IMMV " + name;
                maintenance.push_back("process " + std::to_string(wait.pid) + " waits for " + wait.mode + " on " +
                                      what + " (object " + m[1].str() + " of class ivmx.immv)");
            } else {
                what = "an object of class " + m[2].str();
            }
        } else if (std::regex_search(wait.object, m, relation_re)) {
            const unsigned long oid = std::stoul(m[1]);
            const std::string part = wait.object.compare(0, 6, "tuple ") == 0 ? "a row of "
                                     : m.position(0) > 0                      ? "a part of "
                                                                              : "";
            if (m[2] != database_oid_) {
                what = part + "relation " + m[1].str() + " of another database";
            } else {
                const Relation rel = LookUp(oid);
                std::string name, why;
                if (!rel.found) {
                    name = "relation " + m[1].str() + " (dropped since)";
                    why = "a relation that no longer exists (the workload drops none)";
                } else {
                    name = rel.schema + "." + rel.name;
                    if (rel.immv)
                        why = "the IMMV " + name;
                    else if (rel.schema == "ivmx")
                        why = "pg_ivmx's table " + name;
                    const std::string note = "relation " + m[1].str() + ": " + name + (rel.immv ? " (an IMMV)" : "");
                    if (std::find(notes.begin(), notes.end(), note) == notes.end()) notes.push_back(note);
                    name = (rel.immv ? "IMMV " : "table ") + name;
                }
                what = part + name;
                if (!why.empty())
                    maintenance.push_back("process " + std::to_string(wait.pid) + " waits for " + wait.mode + " on " +
                                          part + why);
            }
        } else if (wait.object.compare(0, 12, "transaction ") == 0) {
            what = "a transaction";
        } else if (wait.object.compare(0, 13, "advisory lock") == 0) {
            what = "an advisory lock";
        } else {
            what = std::regex_replace(wait.object, std::regex(R"(\d+)"), "N");
        }
        const std::string by = p.session && p.sending != nullptr ? StatementKind(p.sending->sql)
                               : p.session                       ? "session"
                                                                 : (p.gone ? "ended process" : p.backend_type);
        kinds.push_back(by + " waits for " + wait.mode + " on " + what);
    }
    if (ContextShowsMaintenance(context)) maintenance.push_back("the victim's CONTEXT shows a maintenance statement");

    const DeadlockCause cause = !operations.empty()    ? DeadlockCause::Operation
                                : !maintenance.empty() ? DeadlockCause::Maintenance
                                                       : DeadlockCause::Workload;
    ++counts_[static_cast<int>(cause)];
    if (cause != DeadlockCause::Maintenance && !log_.is_open()) return cause;

    static const char* const names[] = {"of the workload's own", "caused by maintenance",
                                        "with a maintenance operation"};
    char head[160];
    std::snprintf(head, sizeof head, "deadlock %s, %.2f s into the run, reported to session %d:\n",
                  names[static_cast<int>(cause)], std::chrono::duration<double>(received - start_).count(), index + 1);
    std::string report = head;
    report += "  DETAIL:  ";
    for (char c : detail) report += c == '\n' ? std::string("\n           ") : std::string(1, c);
    report += "\n";
    if (!context.empty()) report += "  CONTEXT: " + Shorten(context, 2 * kShownChars) + "\n";
    for (const std::string& note : notes) report += "  " + note + "\n";
    const std::vector<std::string>& reasons = cause == DeadlockCause::Operation ? operations : maintenance;
    if (!reasons.empty()) {
        report += cause == DeadlockCause::Operation ? "  why an operation:" : "  why maintenance:";
        for (size_t i = 0; i < reasons.size(); ++i) report += (i > 0 ? ";" : "") + std::string(" ") + reasons[i];
        report += "\n";
    }
    if (log_.is_open()) log_ << report << "\n" << std::flush;
    if (cause != DeadlockCause::Maintenance) return cause;

    std::string kind;
    for (const std::string& k : kinds) kind += (kind.empty() ? "" : "; ") + k;
    ++maintenance_kinds_[kind];
    if (maintenance_reports_.size() < kReportsKept) maintenance_reports_.push_back(report);
    if (first_maintenance_detail_.empty()) {
        first_maintenance_detail_ = detail;
        for (const std::string& note : notes)
            if (note.compare(0, 9, "relation ") == 0) first_maintenance_detail_ += "\n" + note;
    }
    return cause;
}

long DeadlockClassifier::Count(DeadlockCause cause) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return counts_[static_cast<int>(cause)];
}

std::string DeadlockClassifier::FirstMaintenance() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string out = std::to_string(counts_[1]) +
                      " deadlock(s) caused by pg_ivmx's maintenance (retried by the sessions; "
                      "every IMMV was right at the end); the first one's DETAIL:";
    std::string line;
    for (char c : first_maintenance_detail_ + "\n") {
        if (c != '\n') {
            line += c;
            continue;
        }
        out += "\n  " + line;
        line.clear();
    }
    return out;
}

std::string DeadlockClassifier::Counts() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::to_string(counts_[0]) + " of the workload's own, " + std::to_string(counts_[1]) +
           " caused by maintenance, " + std::to_string(counts_[2]) + " with a maintenance operation";
}

std::string DeadlockClassifier::MaintenanceReport() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::pair<long, std::string>> kinds;
    for (const auto& [kind, count] : maintenance_kinds_) kinds.emplace_back(count, kind);
    std::sort(kinds.begin(), kinds.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::string out = "deadlocks caused by maintenance, by the locks waited for (the victim first):\n";
    for (const auto& [count, kind] : kinds) out += "  " + std::to_string(count) + " x " + kind + "\n";
    for (size_t i = 0; i < maintenance_reports_.size(); ++i)
        out += "\n" + std::string(i == 0 ? "the first " : "then the ") + maintenance_reports_[i];
    if (counts_[1] > static_cast<long>(maintenance_reports_.size()))
        out += "\n... and " + std::to_string(counts_[1] - static_cast<long>(maintenance_reports_.size())) + " more\n";
    return out;
}

}  // namespace stress
