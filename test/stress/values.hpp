// Random SQL fragments for the stress test's statements: literals, COPY
// fields, WHERE predicates, SET lists and key predicates, for any column of
// the schema (schema.hpp). Draws come only from the Rng, never from the
// database, so a seed always yields the same statements.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "rng.hpp"
#include "schema.hpp"

namespace stress {

// Hands out values of Key columns. Stream `stream` of `streams` (a session of
// the concurrent mode) gets the values congruent to `stream`, so sessions
// never collide on fresh keys; they do collide on existing ones on purpose.
class KeySource {
  public:
    KeySource(Rng& rng, int stream, int streams) : rng_(rng), stream_(stream), streams_(streams) {}

    // A key this stream never handed out before.
    int Fresh(const Table& table);

    // The SQL expression `(N + ordinal) * streams + stream`, reserving `count`
    // fresh keys for ordinals 1..count (e.g. row_number() of a SELECT).
    std::string FreshRange(const Table& table, const std::string& ordinal_sql, int count);

    // A key that probably exists (recently handed out), or any key so far.
    int Existing(const Table& table);

  private:
    int KeyOf(int ordinal) const { return ordinal * streams_ + stream_; }
    Rng& rng_;
    int stream_;
    int streams_;
    std::map<std::string, int> counters_;
    std::map<std::string, std::vector<int>> recent_;
};

class ValueSource {
  public:
    ValueSource(Rng& rng, KeySource& keys) : rng_(rng), keys_(keys) {}

    // A literal for a new row's column (a fresh key for Key columns).
    std::string Literal(const Table& table, const Column& column);

    // The same value as a text-format COPY field (\N for NULL).
    std::string CopyField(const Table& table, const Column& column);

    // A random WHERE condition over the table's columns.
    std::string Predicate(const Table& table);

    // A condition that matches fewer rows (for DELETE, which would otherwise
    // keep the tables nearly empty).
    std::string NarrowPredicate(const Table& table);

    // "col = expr, ..." over 1-3 random columns; keys change only when
    // `single_row` (to a fresh value) or by a collision-free negation.
    std::string SetList(const Table& table, bool single_row);

    // A condition meant to match about one row (by key or row tag).
    std::string RowPredicate(const Table& table);

    // One expression for `column` in ON CONFLICT DO UPDATE, reading the stored
    // row as `t` and the proposed one as EXCLUDED.
    std::string UpsertAssignment(const Column& column);

  private:
    std::string SmallLiteral(const Column& column, bool allow_null);
    // NULL now and then, else the smallest key of the referenced table at or
    // above one this stream handed out (a subquery: it exists, or is NULL).
    std::string ReferenceValue(const Column& column);
    int ReferencedKey(const Column& column);
    std::string QuarterLiteral();
    std::string TextValue();
    std::string Atom(const Table& table);
    std::string ColumnUpdate(const Column& column);
    Rng& rng_;
    KeySource& keys_;
};

}  // namespace stress
