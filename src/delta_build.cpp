// Deltas: the signed streams of a change (see include/ivmx/core/sql_writer.hpp).
//
// A change of relation occurrences becomes the streams of inclusion-exclusion
// over them, every unchanged occurrence read in its current state; a view with
// a join tree (outer joins, EXISTS) gets the streams of its tree
// (join_tree.hpp), a set operation the union of its operands'
// (set_operation.hpp). The statements that apply a delta are the SQL
// writer's (sql_writer.cpp).
#include <string>
#include <vector>

#include "ivmx/core/delta_query.hpp"
#include "ivmx/core/error.hpp"
#include "ivmx/core/join_tree.hpp"
#include "ivmx/core/set_operation.hpp"
#include "ivmx/core/sql_text.hpp"
#include "ivmx/core/sql_writer.hpp"

namespace ivmx::core {

bool Delta::HasNegative() const {
    for (const auto& s : streams)
        if (s.sign < 0) return true;
    return false;
}

bool Delta::HasPositive() const {
    for (const auto& s : streams)
        if (s.sign > 0) return true;
    return false;
}

Delta BuildDelta(const ViewDefinition& view, const std::vector<ChangedOccurrence>& changed,
                 const std::string& with_prefix) {
    Delta delta;
    if (!view.branches.empty()) return SetOperationDelta(view, changed, with_prefix);
    if (view.join_tree) {
        // Match counts make streams of one change cancel each other: always net.
        AddJoinTreeDelta(view, changed, delta, with_prefix);
        delta.consolidate = true;
        return delta;
    }
    delta.consolidate = changed.size() > 1;
    if (changed.size() > kMaxChangedOccurrences)
        throw Error(sqlstate::kProgramLimitExceeded,
                    "a change of " + std::to_string(changed.size()) + " relation occurrences read by IMMV \"" +
                        view.immv.name + "\" at once is too large to maintain incrementally",
                    "At most " + std::to_string(kMaxChangedOccurrences) + " occurrences may change in one statement.",
                    "Change the tables in separate statements, or recompute the IMMV with ivmx.refresh_immv().");
    const std::vector<std::string> base = BaseSources(view);
    // Every non-empty subset T of the changed occurrences (a bit mask), and for
    // each member every non-empty side (inserted +1, deleted -1).
    for (unsigned long mask = 1; mask < (1ul << changed.size()); ++mask) {
        const int coefficient = __builtin_popcountl(mask) % 2 == 1 ? 1 : -1;
        std::vector<DeltaStream> partial{{base, coefficient, {}}};
        for (size_t i = 0; i < changed.size(); ++i) {
            if ((mask & (1ul << i)) == 0) continue;
            std::vector<DeltaStream> next;
            for (const auto& stream : partial) {
                for (int side = 0; side < 2; ++side) {
                    const std::string& source = side == 0 ? changed[i].inserted : changed[i].deleted;
                    if (source.empty()) continue;
                    DeltaStream s = stream;
                    s.sources[changed[i].occurrence] = source;
                    s.sign *= side == 0 ? 1 : -1;
                    next.push_back(std::move(s));
                }
            }
            partial = std::move(next);
        }
        for (auto& s : partial) delta.streams.push_back(std::move(s));
    }
    return delta;
}

std::string RelationBefore(const std::string& relation, const std::vector<std::string>& columns,
                           const std::string& later) {
    const std::string list = Join(columns, ", ");
    // Netted per value and per text: a change of a numeric's display scale
    // alone (1.50 to 1.5) changes what the relation shows, and so what its
    // sums show.
    const std::string netted = "(SELECT " + list + ", sum(__ivm_sign) AS __ivm_n FROM " + later +
                               " AS __ivm_l GROUP BY " + list + ", CAST(ROW(" + list + ") AS text))";
    auto side = [&](const char* name, bool inserted) {
        std::vector<std::string> kept;
        for (const auto& c : columns) kept.push_back(std::string(name) + "." + c);
        return "SELECT " + Join(kept, ", ") + " FROM " + netted + " AS " + name + ", generate_series(1, " +
               (inserted ? "" : "-") + name + ".__ivm_n) WHERE " + name + ".__ivm_n " + (inserted ? "> 0" : "< 0");
    };
    return "(SELECT " + list + " FROM " + relation + " EXCEPT ALL " + side("__ivm_i", true) + " UNION ALL " +
           side("__ivm_o", false) + ")";
}

Delta RelationDelta(const ViewDefinition& view, unsigned int relation_id, const std::string& inserted,
                    const std::string& deleted) {
    std::vector<ChangedOccurrence> changed;
    for (size_t i = 0; i < view.relations.size(); ++i)
        if (view.relations[i].relation_id == relation_id) changed.push_back({i, inserted, deleted});
    return BuildDelta(view, changed);
}

}  // namespace ivmx::core
