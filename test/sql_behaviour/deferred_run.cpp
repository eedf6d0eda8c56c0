// Deferred maintenance replayed with the core's SQL (see deferred_run.hpp).
//
// The model: transactions get made-up ids (1000 and up) when they start and
// run their statements when they commit, one at a time, so that the tables
// always hold exactly the committed transactions' changes; a snapshot
// "now" lists the started transactions that have not committed. Ids are
// not in commit order: a transaction started early may commit late. The
// statements' transition tables are appended to the delta logs with the
// transaction's id (harness.cpp). A refresh of an IMMV follows
// extension/deferred_refresh.cpp: the pending rows of its watermark, a
// batch ending at an earlier snapshot (the snapshot after some commit)
// when a scheduled refresh of a single-relation view splits its backlog,
// the batch copied out of the log (BatchRowsQuery) and read as logged,
// netted or netted by key, the relation as of the batch's end for
// recomputes, then the new watermark and the cleanup of applied rows.
// What the SQL selects (pending counts, batches, rows left after the
// cleanup) is checked against the model; the IMMV against its defining
// query over the tables as of the batch's end.
#include "deferred_run.hpp"

#include <algorithm>
#include <cstdio>
#include <set>

#include "ivmx/core/deferred_sql.hpp"
#include "ivmx/core/delta_query.hpp"
#include "ivmx/core/sql_text.hpp"
#include "ivmx/core/watermark.hpp"
#include "xid_model.hpp"

namespace ivmx::sqlb {

namespace {

constexpr uint64_t kFirstXid = 1000;

struct LogEntry {
    int64_t seq;
    uint64_t xid;
};

struct ConsumerState {
    Immv* immv;
    Snap watermark;
    std::optional<Partial> partial;
};

struct CommitMark {
    uint64_t xid;
    Snap after;  // the snapshot right after the commit
};

std::string LogOf(const TableSpec& t) {
    return Qualified("__log_" + t.name);
}

std::string StateTable(size_t commit, const TableSpec& t) {
    return "__state_" + std::to_string(commit) + "_" + t.name;
}

// Whether equal values of a column of this type are indistinguishable
// (extension/delta_log.cpp, EqualityIsIdentity).
bool EqualityIsIdentity(const std::string& type) {
    return type == "integer" || type == "text";
}

// What a replay did, printed at its end.
struct ReplayStats {
    int commits = 0, refreshes = 0, idle_refreshes = 0, own_flushes = 0, splits = 0, recomputes_as_of = 0;
    int as_logged = 0, netted = 0, by_key = 0, cleanups = 0;
    int64_t rows_consumed = 0;
};

class DeferredReplay {
  public:
    DeferredReplay(const std::vector<Immv*>& immvs, const std::vector<TableSpec>& tables, Generator& gen,
                   std::string repro, DeferredOptions options)
        : tables_(tables), gen_(gen), repro_(std::move(repro)), options_(options) {
        for (Immv* immv : immvs) {
            consumers_.push_back({immv, Snap{}, std::nullopt});
            // The tables as of each commit are kept only when a batch may end there.
            keep_states_ |= options.splits && immv->view().relations.size() == 1;
        }
    }

    bool Run(int initial_rows) {
        gen_.AllowNonFinite(options_.non_finite);
        for (const auto& t : tables_) CreateTable(t, initial_rows, gen_, true);
        for (auto& c : consumers_) {
            c.immv->Create();
            c.watermark = Now();  // every later transaction is pending
            if (std::string m = c.immv->Mismatch(); !m.empty()) return Fail("after creation: " + m);
        }
        if (keep_states_)
            for (const auto& t : tables_) SaveState(t);
        const int steps = options_.steps * Scale();
        for (int step = 1; step <= steps; ++step) {
            const int choice = gen_.Int(0, 99);
            bool ok = true;
            // Refreshes are rarer than commits, so that backlogs build up
            // (and split).
            if (choice < 20 && running_.size() < 3) {
                running_.push_back(next_xid_++);
                history_.push_back("transaction " + std::to_string(running_.back()) + " starts");
            } else if (choice < 72) {
                ok = CommitOne();
            } else {
                ok = Guarded([&] { return Refresh(static_cast<size_t>(gen_.Int(0, int(consumers_.size()) - 1)), 0); });
            }
            if (!ok) return false;
        }
        // The end: every running transaction commits, every IMMV catches up,
        // and the cleanup leaves nothing.
        while (!running_.empty())
            if (!CommitOne(true)) return false;
        for (size_t c = 0; c < consumers_.size(); ++c)
            if (!Guarded([&] { return Refresh(c, 0, false) && Cleanup(); })) return false;
        for (const auto& t : tables_) {
            const Value left = Db().Scalar("SELECT count(*) FROM " + LogOf(t));
            if (left != Value("0")) return Fail(*left + " rows left in " + LogOf(t) + " after every IMMV caught up");
        }
        std::printf(
            "    %d commits, %d refreshes (%d with nothing pending, %d own flushes, %d split batches, %d recomputing "
            "as of the batch end), batches %d as logged / %d netted / %d by key, %lld log rows consumed, %d "
            "cleanups\n",
            stats_.commits, stats_.refreshes, stats_.idle_refreshes, stats_.own_flushes, stats_.splits,
            stats_.recomputes_as_of, stats_.as_logged, stats_.netted, stats_.by_key,
            static_cast<long long>(stats_.rows_consumed), stats_.cleanups);
        return true;
    }

  private:
    Snap Now() const {
        Snap s;
        s.xmax = next_xid_;
        s.xip = running_;
        std::sort(s.xip.begin(), s.xip.end());
        s.xmin = s.xip.empty() ? s.xmax : s.xip.front();
        return s;
    }

    // Whether every transaction applied in `earlier` is applied in `later`.
    bool Includes(const Snap& later, const Snap& earlier) const {
        for (uint64_t x = kFirstXid; x <= next_xid_; ++x)
            if (earlier.Visible(x) && !later.Visible(x)) return false;
        return true;
    }

    static core::XidSnapshot ToCore(const Snap& s) { return {s.xmin, s.xmax, s.xip}; }
    static Snap FromCore(const core::XidSnapshot& s) { return {s.xmin, s.xmax, s.xip}; }

    bool Fail(const std::string& what) {
        try {
            Db().Exec("ROLLBACK");  // a transaction the failure interrupted
        } catch (const std::exception&) {
        }
        std::string shown;
        const size_t from = history_.size() > 80 ? history_.size() - 80 : 0;
        for (size_t i = from; i < history_.size(); ++i) shown += "  " + history_[i] + "\n";
        ADD_FAILURE() << what << "\nhistory" << (from ? " (the last events)" : "") << ":\n" << shown << repro_;
        return false;
    }

    // Runs `body`, turning an error of the server into a failure (the
    // current transaction rolled back).
    template <typename Body>
    bool Guarded(Body body) {
        try {
            return body();
        } catch (const std::exception& e) {
            try {
                Db().Exec("ROLLBACK");
            } catch (const std::exception&) {
            }
            return Fail(std::string("error: ") + e.what());
        }
    }

    void SaveState(const TableSpec& t) {
        const size_t commit = commits_.size();
        Db().Exec("CREATE TABLE " + Qualified(StateTable(commit, t)) + " AS SELECT * FROM " + Qualified(t.name));
    }

    // One transaction: its statements, maybe a flush of an IMMV in their
    // middle (which applies the transaction's own rows so far), its commit.
    bool CommitOne(bool all_running = false) {
        uint64_t xid;
        if (!running_.empty() && (all_running || gen_.Chance(0.6))) {
            xid = running_[static_cast<size_t>(gen_.Int(0, int(running_.size()) - 1))];
        } else {
            xid = next_xid_++;
            running_.push_back(xid);
        }
        const int n = gen_.Int(1, 3);
        const int flush_after = options_.own_flushes && gen_.Chance(0.15) ? gen_.Int(1, n) : 0;
        history_.push_back("transaction " + std::to_string(xid) + ":");
        return Guarded([&] {
            Db().Exec("BEGIN; SET LOCAL sqlb.xid = '" + std::to_string(xid) + "'");
            for (int i = 1; i <= n; ++i) {
                const TableSpec& t = gen_.Pick(tables_);
                const std::string s = gen_.Statement(
                    t, std::stoll(*Db().Scalar("SELECT count(*) FROM " + Qualified(t.name))), options_.key_updates);
                history_.push_back("    " + s + ";");
                Db().Exec(s);
                if (i == flush_after &&
                    !Refresh(static_cast<size_t>(gen_.Int(0, int(consumers_.size()) - 1)), xid, false))
                    return false;
            }
            Db().Exec("COMMIT");
            running_.erase(std::find(running_.begin(), running_.end(), xid));
            history_.push_back("    COMMIT (now " + Now().Text() + ")");
            commits_.push_back({xid, Now()});
            ++stats_.commits;
            if (keep_states_)
                for (const auto& t : tables_) SaveState(t);
            return true;
        });
    }

    // The distinct tables a view reads, in the order of its relations.
    std::vector<const TableSpec*> TablesOf(const core::ViewDefinition& view) const {
        std::vector<const TableSpec*> out;
        for (const auto& rel : view.relations)
            for (const auto& t : tables_)
                if (t.relation_id == rel.relation_id && std::find(out.begin(), out.end(), &t) == out.end())
                    out.push_back(&t);
        return out;
    }

    static std::vector<std::string> AllColumns(const TableSpec& t) {
        std::vector<std::string> names;
        for (const auto& c : t.columns) names.push_back(c.name);
        return names;
    }

    // The columns a delta reads of occurrence i (extension: ColumnsRead).
    static std::vector<std::string> OccurrenceColumns(const core::ViewDefinition& view, size_t i, const TableSpec& t) {
        return core::ReadsWholeRows(view, i) ? AllColumns(t) : view.relations[i].columns_read;
    }

    // The columns of a batch of `t`: those of every occurrence of it.
    static std::vector<std::string> BatchColumns(const core::ViewDefinition& view, const TableSpec& t) {
        std::vector<std::string> out;
        for (size_t i = 0; i < view.relations.size(); ++i) {
            if (view.relations[i].relation_id != t.relation_id) continue;
            for (const auto& c : OccurrenceColumns(view, i, t))
                if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
        }
        return out;
    }

    static std::vector<std::string> QuotedNames(const std::vector<std::string>& names) {
        std::vector<std::string> out;
        for (const auto& n : names) out.push_back(core::QuoteIdent(n));
        return out;
    }

    static std::vector<LogEntry> Entries(const TableSpec& t) {
        std::vector<LogEntry> out;
        for (const auto& row : Db().Query("SELECT __ivm_seq, __ivm_xid::text FROM " + LogOf(t)).rows)
            out.push_back({std::stoll(*row[0]), std::stoull(*row[1])});
        return out;
    }

    static bool IsPending(const ConsumerState& c, const LogEntry& e) {
        return PendingFor(&c.watermark, c.partial ? &*c.partial : nullptr, e.xid, e.seq);
    }

    // Copies the rows `condition` selects from the log of t into a table
    // (as the extension reads a batch into a tuplestore) and checks that they
    // are the rows `want` selects in the model.
    bool ReadRows(const core::ViewDefinition& view, const TableSpec& t, const std::string& table,
                  const std::string& condition, const std::vector<Param>& params,
                  const std::function<bool(const LogEntry&)>& want, const std::string& what, int64_t& count) {
        const std::vector<std::string> columns = QuotedNames(BatchColumns(view, t));
        const std::string name = Qualified(table);
        Db().Exec("DROP TABLE IF EXISTS " + name + "; CREATE TABLE " + name + " AS SELECT __ivm_sign, __ivm_seq, " +
                  core::Join(columns, ", ") + " FROM " + LogOf(t) + " LIMIT 0");
        Db().Query("INSERT INTO " + name + " " + core::BatchRowsQuery(LogOf(t), columns, condition), params);
        std::vector<int64_t> got, expected;
        for (const auto& row : Db().Query("SELECT __ivm_seq FROM " + name + " ORDER BY 1").rows)
            got.push_back(std::stoll(*row[0]));
        for (const auto& e : Entries(t))
            if (want(e)) expected.push_back(e.seq);
        std::sort(expected.begin(), expected.end());
        count = static_cast<int64_t>(got.size());
        if (got == expected) return true;
        auto list = [](const std::vector<int64_t>& seqs) {
            std::string out;
            for (int64_t s : seqs) out += " " + std::to_string(s);
            return out;
        };
        return Fail(
            what + " of " + LogOf(t) + ": rows (by __ivm_seq)" + list(got) + ", expected" + list(expected) +
            "\nlog:\n" +
            Describe(Db().Query("SELECT __ivm_seq, __ivm_xid, __ivm_sign FROM " + LogOf(t) + " ORDER BY 1"), 300));
    }

    // Refreshes consumer `which`, as a scheduled refresh (which may split a
    // backlog) or a flush; own: the id of the transaction flushing, 0 if
    // none.
    bool Refresh(size_t which, uint64_t own, bool scheduled = true) {
        ConsumerState& c = consumers_[which];
        const core::ViewDefinition& view = c.immv->view();
        Snap seen = Now();
        seen.xip.erase(std::remove(seen.xip.begin(), seen.xip.end(), own), seen.xip.end());
        std::string label =
            "refresh of " + core::QuoteQualified(view.immv) + (own ? " by its own flush in " : "") +
            (own ? std::to_string(own) : "") + " (watermark " + c.watermark.Text() +
            (c.partial ? ", partial " + std::to_string(c.partial->xid) + " through " + std::to_string(c.partial->seq)
                       : "") +
            ")";

        std::vector<Param> params{{c.watermark.Text()}};
        std::optional<core::PartialApplied> partial_params;
        if (c.partial) {
            params.push_back({std::to_string(c.partial->xid)});
            params.push_back({std::to_string(c.partial->seq)});
            partial_params = core::PartialApplied{"$2", "$3"};
        }
        const std::string pending = core::PendingCondition("$1", partial_params);
        const std::vector<const TableSpec*> logs = TablesOf(view);

        // What is pending, by log.
        int64_t total = 0, own_max_seq = 0;
        std::vector<Param> with_own = params;
        with_own.push_back({std::to_string(own ? own : next_xid_ + 1000)});
        const std::string own_param = "$" + std::to_string(with_own.size());
        for (const TableSpec* t : logs) {
            const Row summary =
                Db().Query(core::PendingSummaryQuery(LogOf(*t), pending, own_param), with_own).rows.at(0);
            int64_t count = 0, own_last = 0;
            for (const auto& e : Entries(*t)) {
                if (!IsPending(c, e)) continue;
                ++count;
                if (e.xid == own) own_last = std::max(own_last, e.seq);
            }
            if (summary[0] != Value(std::to_string(count)))
                return Fail(label + ": pending summary of " + LogOf(*t) + " counts " + summary[0].value_or("NULL") +
                            " rows, expected " + std::to_string(count));
            total += count;
            if (summary[2]) own_max_seq = std::max<int64_t>(own_max_seq, std::stoll(*summary[2]));
            if (own_last != (summary[2] ? std::stoll(*summary[2]) : 0))
                return Fail(label + ": the own transaction's last pending row is " + summary[2].value_or("NULL") +
                            ", expected " + std::to_string(own_last));
        }

        // A scheduled refresh of a single-relation view may end its batch at
        // the snapshot after an earlier commit.
        std::optional<Snap> batch_end;
        std::optional<size_t> end_commit;
        if (scheduled && options_.splits && own == 0 && !c.partial && view.relations.size() == 1 && total > 0 &&
            gen_.Chance(0.6)) {
            std::vector<size_t> candidates;
            for (size_t k = 0; k < commits_.size(); ++k)
                if (Includes(commits_[k].after, c.watermark) && !Includes(c.watermark, commits_[k].after))
                    candidates.push_back(k);
            if (!candidates.empty()) {
                std::vector<Param> with_marks = params;
                std::vector<std::string> marks;
                for (size_t k : candidates) {
                    with_marks.push_back({commits_[k].after.Text()});
                    marks.push_back("$" + std::to_string(with_marks.size()));
                }
                const Row counts =
                    Db().Query(core::BatchEndCountQuery(LogOf(*logs[0]), pending, marks), with_marks).rows.at(0);
                std::vector<int64_t> visible;
                for (size_t m = 0; m < candidates.size(); ++m) {
                    int64_t want = 0;
                    for (const auto& e : Entries(*logs[0]))
                        want += IsPending(c, e) && commits_[candidates[m]].after.Visible(e.xid);
                    if (counts.at(m) != Value(std::to_string(want)))
                        return Fail(label + ": a batch ending at " + commits_[candidates[m]].after.Text() + " counts " +
                                    counts.at(m).value_or("NULL") + " rows, expected " + std::to_string(want));
                    visible.push_back(want);
                }
                const auto end = core::SelectBatchEnd(visible, total, gen_.Int(1, static_cast<int>(total)));
                if (end) {
                    end_commit = candidates[*end];
                    batch_end = commits_[*end_commit].after;
                    label += ", batch ending at " + batch_end->Text();
                }
            }
        }

        std::vector<Param> batch_params = params;
        std::optional<std::string> end_param;
        if (batch_end) {
            batch_params.push_back({batch_end->Text()});
            end_param = "$" + std::to_string(batch_params.size());
        }
        const std::string consumed = core::ConsumedCondition(pending, end_param);
        int64_t consumed_rows = 0;
        std::set<unsigned int> changed_relations;
        for (const TableSpec* t : logs) {
            int64_t n = 0;
            if (!ReadRows(
                    view, *t, "__batch_" + t->name, consumed, batch_params,
                    [&](const LogEntry& e) { return IsPending(c, e) && (!batch_end || batch_end->Visible(e.xid)); },
                    label + ": the batch", n))
                return false;
            consumed_rows += n;
            if (n > 0) changed_relations.insert(t->relation_id);
        }
        ++stats_.refreshes;
        stats_.own_flushes += own != 0;
        if (total == 0) {
            ++stats_.idle_refreshes;
            history_.push_back(label + ": nothing pending");
            return true;  // the watermark stays where it is, as the extension leaves it
        }

        // The delta, in the form extension/deferred_refresh.cpp chooses
        // (FormOf); a batch read as logged may also be netted, as the
        // extension does when the logged form fails.
        std::vector<size_t> occurrences;
        for (size_t i = 0; i < view.relations.size(); ++i)
            if (changed_relations.count(view.relations[i].relation_id)) occurrences.push_back(i);
        bool netted = false, keyed = false;
        if (core::NettedBatchIsKeyed(view, occurrences.size()))
            netted = keyed = true;
        else if (occurrences.size() > 1)
            netted = true;
        else
            netted = gen_.Chance(0.3);
        std::vector<core::ChangedOccurrence> changed;
        std::vector<std::string> with;
        for (size_t i : occurrences) {
            const TableSpec* t = nullptr;
            for (const TableSpec* l : logs)
                if (l->relation_id == view.relations[i].relation_id) t = l;
            core::LogColumnsRead read;
            read.source = Qualified("__batch_" + t->name);
            for (const auto& name : OccurrenceColumns(view, i, *t)) {
                read.columns.push_back(core::QuoteIdent(name));
                for (const auto& col : t->columns)
                    if (col.name == name) read.by_value &= EqualityIsIdentity(col.type);
            }
            read.by_value &= !read.columns.empty();
            if (!netted) {
                changed.push_back({i, core::LoggedSide(read, "true", +1), core::LoggedSide(read, "true", -1)});
                continue;
            }
            const std::string name = "__ivm_log" + std::to_string(i);
            with.push_back(core::NettedLog(read, "true", name));
            changed.push_back(
                {i, core::NettedSide(name, read.columns, +1, keyed), core::NettedSide(name, read.columns, -1, keyed)});
        }
        core::Delta delta = core::BuildDelta(view, changed);
        delta.with_items.insert(delta.with_items.begin(), with.begin(), with.end());
        delta.consolidate |= !keyed;
        delta.update_in_place =
            keyed && (gen_.Chance(0.5) || core::UpdatesInPlace(view, static_cast<unsigned long>(consumed_rows)));
        if (batch_end && core::NeedsRecompute(view)) {
            const TableSpec& t = *logs[0];
            int64_t n = 0;
            if (!ReadRows(
                    view, t, "__later_" + t.name, core::LaterCondition(pending, *end_param), batch_params,
                    [&](const LogEntry& e) { return IsPending(c, e) && !batch_end->Visible(e.xid); },
                    label + ": the rows after the batch", n))
                return false;
            const std::vector<std::string> columns =
                QuotedNames(view.relations[0].columns_read.empty() || core::ReadsWholeRows(view, 0)
                                ? AllColumns(t)
                                : view.relations[0].columns_read);
            delta.base_as_of = {core::RelationBefore(Qualified(t.name), columns, Qualified("__later_" + t.name))};
        }
        stats_.splits += batch_end.has_value();
        stats_.recomputes_as_of += !delta.base_as_of.empty();
        stats_.rows_consumed += consumed_rows;
        (keyed ? stats_.by_key : netted ? stats_.netted : stats_.as_logged) += 1;
        label += std::string(", ") + std::to_string(consumed_rows) + " rows " +
                 (keyed    ? "netted by key"
                  : netted ? "netted"
                           : "as logged");
        history_.push_back(label);

        const std::vector<std::string> run = c.immv->Apply(delta);
        std::map<std::string, std::string> as_of;
        if (end_commit)
            for (const auto& t : tables_) as_of[t.name] = StateTable(*end_commit + 1, t);
        if (std::string m = c.immv->Mismatch(as_of); !m.empty())
            return Fail("IMMV " + core::QuoteQualified(view.immv) + " wrong after the " + label + ":\n" + m +
                        "maintenance statements:\n" + PlanText(run));

        // The new watermark (extension: AdvanceWatermark).
        const uint64_t previous_partial = c.partial && c.partial->xid == own ? c.partial->seq : 0;
        c.watermark = batch_end ? *batch_end
                                : FromCore(core::ConsumedThrough(ToCore(seen), ToCore(c.watermark), own, UINT64_MAX));
        c.partial.reset();
        if (own != 0 && !batch_end)
            c.partial = Partial{own, std::max<int64_t>(own_max_seq, static_cast<int64_t>(previous_partial))};
        history_.push_back(
            "    watermark now " + c.watermark.Text() +
            (c.partial ? ", partial " + std::to_string(c.partial->xid) + " through " + std::to_string(c.partial->seq)
                       : ""));
        return !gen_.Chance(0.7) || Cleanup();
    }

    // Deletes the log rows every consumer applied; checks that exactly the
    // rows some consumer has pending remain.
    bool Cleanup() {
        ++stats_.cleanups;
        for (const auto& t : tables_) {
            std::vector<std::string> pending;
            std::vector<Param> params;
            std::vector<const ConsumerState*> readers;
            for (const auto& c : consumers_) {
                const auto& rels = c.immv->view().relations;
                if (std::none_of(rels.begin(), rels.end(),
                                 [&](const core::BaseRelation& r) { return r.relation_id == t.relation_id; }))
                    continue;
                readers.push_back(&c);
                params.push_back({c.watermark.Text()});
                const std::string w = "$" + std::to_string(params.size());
                if (!c.partial) {
                    pending.push_back(core::PendingCondition(w, std::nullopt));
                    continue;
                }
                params.push_back({std::to_string(c.partial->xid)});
                params.push_back({std::to_string(c.partial->seq)});
                pending.push_back(
                    core::PendingCondition(w, core::PartialApplied{"$" + std::to_string(params.size() - 1),
                                                                   "$" + std::to_string(params.size())}));
            }
            std::vector<int64_t> expected;
            for (const auto& e : Entries(t))
                if (std::any_of(readers.begin(), readers.end(),
                                [&](const ConsumerState* c) { return IsPending(*c, e); }))
                    expected.push_back(e.seq);
            std::sort(expected.begin(), expected.end());
            Db().Query(core::DeleteAppliedRows(LogOf(t), core::AppliedByAll(pending)), params);
            std::vector<int64_t> left;
            for (const auto& row : Db().Query("SELECT __ivm_seq FROM " + LogOf(t) + " ORDER BY 1").rows)
                left.push_back(std::stoll(*row[0]));
            if (left != expected)
                return Fail("the cleanup of " + LogOf(t) + " left " + std::to_string(left.size()) + " rows, expected " +
                            std::to_string(expected.size()));
        }
        return true;
    }

    std::vector<TableSpec> tables_;
    Generator& gen_;
    std::string repro_;
    DeferredOptions options_;
    std::vector<ConsumerState> consumers_;
    uint64_t next_xid_ = kFirstXid;
    std::vector<uint64_t> running_;
    std::vector<CommitMark> commits_;
    std::vector<std::string> history_;
    bool keep_states_ = false;
    ReplayStats stats_;
};

}  // namespace

bool RunDeferred(const std::vector<Immv*>& immvs, const std::vector<TableSpec>& tables, Generator& gen,
                 const std::string& repro, DeferredOptions options, int initial_rows) {
    DeferredReplay replay(immvs, tables, gen, repro, options);
    return replay.Run(initial_rows);
}

}  // namespace ivmx::sqlb
