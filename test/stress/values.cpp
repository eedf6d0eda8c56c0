// Random SQL fragments (see values.hpp).
#include "values.hpp"

#include <cstdio>

#include "pg.hpp"

namespace stress {

namespace {

// Short strings that collide often and exercise quoting and byte order.
const std::vector<std::string>& TextDomain() {
    static const std::vector<std::string> domain = {"a", "b", "c", "ab", "B", "zz", "", "o'k", "\xc3\xa9", "a b"};
    return domain;
}

std::string CopyEscape(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\t')
            out += "\\t";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

}  // namespace

int KeySource::Fresh(const Table& table) {
    const int key = KeyOf(++counters_[table.name]);
    std::vector<int>& recent = recent_[table.name];
    recent.push_back(key);
    if (recent.size() > 400) recent.erase(recent.begin(), recent.begin() + 100);
    return key;
}

std::string KeySource::FreshRange(const Table& table, const std::string& ordinal_sql, int count) {
    int& counter = counters_[table.name];
    const int base = counter;
    counter += count;
    return "((" + std::to_string(base) + " + " + ordinal_sql + ") * " + std::to_string(streams_) + " + " +
           std::to_string(stream_) + ")";
}

int KeySource::Existing(const Table& table) {
    const std::vector<int>& recent = recent_[table.name];
    if (!recent.empty() && rng_.Percent(85)) return rng_.Pick(recent);
    return KeyOf(rng_.Between(1, counters_[table.name] + 1)) - rng_.Below(streams_);
}

std::string ValueSource::SmallLiteral(const Column& column, bool allow_null) {
    if (allow_null && column.nullable && rng_.Percent(15)) return "NULL";
    return std::to_string(rng_.Below(column.domain));
}

int ValueSource::ReferencedKey(const Column& column) {
    return keys_.Existing(TableNamed(column.references));
}

std::string ValueSource::ReferenceValue(const Column& column) {
    if (column.nullable && rng_.Percent(15)) return "NULL";
    const Table& parent = TableNamed(column.references);
    const std::string& key = parent.primary_key.front();
    return "(SELECT min(" + key + ") FROM " + parent.name + " WHERE " + key +
           " >= " + std::to_string(ReferencedKey(column)) + ")";
}

// A multiple of 0.25 in [-5, 20], sometimes written with a different scale.
std::string ValueSource::QuarterLiteral() {
    const int quarters = rng_.Between(-20, 80);
    char buf[32];
    if (quarters % 4 == 0 && rng_.Percent(50))
        std::snprintf(buf, sizeof buf, "%d", quarters / 4);
    else
        std::snprintf(buf, sizeof buf, rng_.Percent(20) ? "%.3f" : "%.2f", quarters / 4.0);
    return buf;
}

std::string ValueSource::TextValue() {
    return rng_.Pick(TextDomain());
}

std::string ValueSource::Literal(const Table& table, const Column& column) {
    if (column.kind == ValueKind::Key) return std::to_string(keys_.Fresh(table));
    if (column.kind == ValueKind::Small) return SmallLiteral(column, true);
    if (column.kind == ValueKind::Reference) return ReferenceValue(column);
    if (column.nullable && rng_.Percent(15)) return "NULL";
    if (column.kind == ValueKind::Text) return Quote(TextValue());
    return QuarterLiteral();
}

// COPY cannot run a subquery: a reference is a key this stream handed out,
// which may be gone (a foreign key violation the runners allow).
std::string ValueSource::CopyField(const Table& table, const Column& column) {
    if (column.kind == ValueKind::Reference)
        return column.nullable && rng_.Percent(15) ? "\\N" : std::to_string(ReferencedKey(column));
    const std::string literal = Literal(table, column);
    if (literal == "NULL") return "\\N";
    if (column.kind != ValueKind::Text) return literal;
    std::string text = literal.substr(1, literal.size() - 2);  // unquote: '' -> '
    for (size_t at = text.find("''"); at != std::string::npos; at = text.find("''", at + 1)) text.erase(at, 1);
    return CopyEscape(text);
}

std::string ValueSource::Atom(const Table& table) {
    const Column& c = rng_.Pick(table.columns);
    const std::string& name = c.name;
    if (c.nullable && rng_.Percent(12)) return name + (rng_.Percent(50) ? " IS NULL" : " IS NOT NULL");
    switch (c.kind) {
        case ValueKind::Reference: {
            const std::string key = std::to_string(ReferencedKey(c));
            return name + rng_.Pick(std::vector<std::string>{" = ", " < ", " >= "}) + key;
        }
        case ValueKind::Key: {
            const int key = keys_.Existing(table);
            switch (rng_.Below(3)) {
                case 0:
                    return name + " % " + std::to_string(rng_.Between(2, 6)) + " = " + std::to_string(rng_.Below(2));
                case 1:
                    return name + " < " + std::to_string(key);
                default:
                    return name + " > " + std::to_string(key);
            }
        }
        case ValueKind::Small: {
            const std::string k = std::to_string(rng_.Below(c.domain));
            switch (rng_.Below(5)) {
                case 0:
                    return name + " = " + k;
                case 1:
                    return name + " <> " + k;
                case 2:
                    return name + " < " + k;
                case 3:
                    return name + " >= " + k;
                default:
                    return name + " IN (" + k + ", " + std::to_string(rng_.Below(c.domain)) + ")";
            }
        }
        case ValueKind::Numeric:
        case ValueKind::Float:
            return name + (rng_.Percent(50) ? " > " : " <= ") + QuarterLiteral();
        case ValueKind::Text: {
            const std::string text = Quote(TextValue());
            switch (rng_.Below(4)) {
                case 0:
                    return name + " = " + text;
                case 1:
                    return name + " < " + text;
                case 2:
                    return name + " LIKE 'a%'";
                default:
                    return name + " IS DISTINCT FROM " + text;
            }
        }
    }
    return "true";
}

std::string ValueSource::Predicate(const Table& table) {
    switch (rng_.Weighted({45, 35, 15, 5})) {
        case 0:
            return Atom(table);
        case 1:
            return Atom(table) + " AND " + Atom(table);
        case 2:
            return "(" + Atom(table) + " OR " + Atom(table) + ")";
        default:
            return "NOT (" + Atom(table) + ")";
    }
}

std::string ValueSource::NarrowPredicate(const Table& table) {
    return Atom(table) + " AND " + Atom(table);
}

std::string ValueSource::RowPredicate(const Table& table) {
    std::string predicate = table.row_tag + " = " + std::to_string(keys_.Existing(table));
    if (table.primary_key.size() > 1 && rng_.Percent(50)) {
        const Column& first = table.Get(table.primary_key.front());
        predicate = first.name + " = " + SmallLiteral(first, false) + " AND " + predicate;
    }
    return predicate;
}

// A new value for one column: a literal or an expression of its old value
// (which keeps multiples of 0.25 exact and small domains small).
std::string ValueSource::ColumnUpdate(const Column& c) {
    const std::string& n = c.name;
    if (c.kind == ValueKind::Reference) return ReferenceValue(c);
    if (rng_.Percent(35) || c.kind == ValueKind::Key) {
        if (c.kind == ValueKind::Small) return SmallLiteral(c, true);
        if (c.nullable && rng_.Percent(20)) return "NULL";
        if (c.kind == ValueKind::Text) return Quote(TextValue());
        return QuarterLiteral();
    }
    const std::string d = std::to_string(c.domain);
    switch (c.kind) {
        case ValueKind::Small: {
            const std::vector<std::string> options = {"(" + n + " + 1) % " + d, d + " - 1 - " + n,
                                                      c.nullable ? "NULLIF(" + n + ", 1)" : "0"};
            return rng_.Pick(options);
        }
        case ValueKind::Numeric:
            return rng_.Pick(
                std::vector<std::string>{n + " + 0.25", "-" + n, n + " - 1.5", n + " * 2", "round(" + n + ")"});
        case ValueKind::Float:
            return rng_.Pick(std::vector<std::string>{n + " + 0.25", "-" + n, n + " - 1.5", "abs(" + n + ")"});
        case ValueKind::Text: {
            std::vector<std::string> options = {"upper(" + n + ")", "left(" + n + " || 'x', 2)",
                                                "CASE WHEN " + n + " < 'b' THEN 'zz' ELSE 'a' END"};
            if (c.nullable) options.push_back("NULLIF(" + n + ", 'a')");
            return rng_.Pick(options);
        }
        case ValueKind::Key:
        case ValueKind::Reference:
            break;
    }
    return n;
}

std::string ValueSource::SetList(const Table& table, bool single_row) {
    std::vector<const Column*> chosen;
    const int wanted = rng_.Between(1, 3);
    for (int i = 0; i < wanted; ++i) {
        const Column* c = &rng_.Pick(table.columns);
        bool seen = false;
        for (const Column* other : chosen) seen = seen || other == c;
        if (!seen) chosen.push_back(c);
    }
    std::string sets;
    for (const Column* c : chosen) {
        std::string value;
        if (c->kind == ValueKind::Key) {
            if (!rng_.Percent(30)) continue;  // keys change less often than the rest
            value = single_row ? std::to_string(keys_.Fresh(table)) : "-" + c->name;
        } else {
            value = ColumnUpdate(*c);
        }
        sets += (sets.empty() ? "" : ", ") + c->name + " = " + value;
    }
    if (sets.empty()) {
        const Column& fallback = table.columns.back();
        sets = fallback.name + " = " + ColumnUpdate(fallback);
    }
    return sets;
}

std::string ValueSource::UpsertAssignment(const Column& c) {
    const std::string& n = c.name;
    switch (c.kind) {
        case ValueKind::Small:
            return rng_.Percent(50) ? "EXCLUDED." + n : "(t." + n + " + 1) % " + std::to_string(c.domain);
        case ValueKind::Numeric:
        case ValueKind::Float:
            return rng_.Percent(50) ? "t." + n + " + EXCLUDED." + n : "EXCLUDED." + n;
        case ValueKind::Text:
            return rng_.Percent(50) ? "EXCLUDED." + n : "coalesce(EXCLUDED." + n + ", t." + n + ")";
        case ValueKind::Reference:
            return rng_.Percent(50) ? "EXCLUDED." + n : "t." + n;
        case ValueKind::Key:
            break;
    }
    return "t." + n;
}

}  // namespace stress
