// The query of ivmx.verify_immv (see VerifySql in
// include/ivmx/core/sql_writer.hpp): the IMMV's visible columns against its
// defining query, each column compared in a form in which what the query
// determines is equal and nothing else is.
#include "ivmx/core/aggregate_rules.hpp"
#include "ivmx/core/sql_text.hpp"
#include "ivmx/core/sql_writer.hpp"

namespace ivmx::core {

namespace {

bool IsNumeric(const OutputColumn& c) {
    const std::string& type = c.aggregate ? c.aggregate->result_type : c.type_sql;
    return type == "numeric" || type.rfind("numeric(", 0) == 0;
}

// Whether the query determines how column c is shown, not only its value,
// and maintenance keeps it so: a sum or avg (the largest scale of the
// inputs), a variance or standard deviation, an expression over such. Not
// so a min or max, a group key or a DISTINCT column of numeric type: equal
// values of different scales (1.0, 1.00) are one group or extreme, shown as
// whichever row the scan met first; nor a bag's column, whose rows are
// matched by value when deleted.
bool DisplayIsDetermined(const ViewDefinition& view, const OutputColumn& c) {
    switch (c.role) {
        case ColumnRole::Plain:
            return false;
        case ColumnRole::GroupKey:
            return !IsNumeric(c);
        case ColumnRole::Aggregate:
            // (Equal values of different scales are one DISTINCT value,
            // shown as whichever the scan met first.)
            return c.aggregate->kind != AggregateKind::Min && c.aggregate->kind != AggregateKind::Max &&
                   !c.aggregate->distinct;
        case ColumnRole::AggregateExpression:
            for (size_t j : c.operands)
                if (!DisplayIsDetermined(view, view.columns[j])) return false;
            return true;
    }
    return false;
}

// Whether column c is, or is computed from, an aggregate whose inputs the
// IMMV may hold in another order than the query (HasUnspecifiedOrder).
bool OrderIsUnspecified(const ViewDefinition& view, const OutputColumn& c) {
    if (c.role == ColumnRole::Aggregate) return HasUnspecifiedOrder(*c.aggregate);
    if (c.role != ColumnRole::AggregateExpression) return false;
    for (size_t j : c.operands)
        if (OrderIsUnspecified(view, view.columns[j])) return true;
    return false;
}

// The relative difference within which two values of a variance or
// standard deviation over floats are taken for the same result computed
// in two orders of the rows (a few units in the last place in general;
// more for inputs large against their spread).
const char* const kFloatTolerance = "1e-9";

// Whether doubles a and b, both finite and of one sign, differ by at most
// kFloatTolerance of the larger (in a CASE, so that the subtraction never
// sees values that could overflow).
std::string WithinTolerance(const std::string& a, const std::string& b) {
    const std::string larger = "greatest(abs(" + a + "), abs(" + b + "))";
    return "CASE WHEN sign(" + a + ") = sign(" + b + ") AND " + larger + " < 'Infinity' THEN abs(" + a + " - " + b +
           ") <= " + kFloatTolerance + " * " + larger + " ELSE false END";
}

bool IsFloatType(const std::string& type) {
    return type == "double precision" || type == "real";
}

// Whether column c is, or is a float computed from, a variance or standard
// deviation over floats: PostgreSQL's accumulation rounds differently with
// the order in which a plan feeds it the rows (which PostgreSQL leaves to
// the plan), and the IMMV's recompute need not read them in the order the
// query does.
bool FloatOrderDependent(const ViewDefinition& view, const OutputColumn& c) {
    if (c.role == ColumnRole::Aggregate)
        return IsMomentKind(c.aggregate->kind) && StrategyOf(*c.aggregate) == AggregateStrategy::Recompute;
    if (c.role != ColumnRole::AggregateExpression || !IsFloatType(c.type_sql)) return false;
    for (size_t j : c.operands)
        if (FloatOrderDependent(view, view.columns[j])) return true;
    return false;
}

// ARRAY(SELECT <element> FROM <source> ORDER BY 1) as text[] in byte order,
// NULL for a NULL value: the elements of `value` whatever their order.
std::string SortedElements(const std::string& value, const std::string& element, const std::string& source) {
    return "CASE WHEN " + value + " IS NULL THEN NULL ELSE ARRAY(SELECT CAST(" + element +
           " AS text) COLLATE \"C\" FROM " + source + " ORDER BY 1) END";
}

// An aggregate column holding its inputs in an unspecified order, as the
// sorted list of its elements: an array's elements (first-dimension
// slices), a JSON array's elements, a string_agg's pieces between its
// constant delimiter (its characters without one, its bytes for bytea).
std::string Unordered(const Aggregate& agg, const std::string& ref) {
    switch (agg.kind) {
        case AggregateKind::ArrayAgg:
            return SortedElements(ref, "(" + ref + ")[__ivm_i:__ivm_i]",
                                  "generate_subscripts(" + ref + ", 1) AS __ivm_i");
        case AggregateKind::JsonAgg:
            return SortedElements(ref, "__ivm_e", "json_array_elements(" + ref + ") AS __ivm_e");
        case AggregateKind::JsonbAgg:
            return SortedElements(ref, "__ivm_e", "jsonb_array_elements(" + ref + ") AS __ivm_e");
        default:
            break;
    }
    if (agg.result_type == "bytea")
        return SortedElements(ref, "get_byte(" + ref + ", __ivm_i)",
                              "generate_series(0, length(" + ref + ") - 1) AS __ivm_i");
    if (!agg.constant_delimiter_sql.empty())
        return SortedElements(ref, "__ivm_e",
                              "unnest(string_to_array(" + ref + ", " + agg.constant_delimiter_sql + ")) AS __ivm_e");
    return SortedElements(ref, "__ivm_e", "regexp_split_to_table(" + ref + ", '') AS __ivm_e");
}

// How column c (reference ref) is compared. Columns without an equality
// operator by their text form, and so are numeric ones whose display the
// query determines: 1.00 = 1, but the IMMV must show what the query shows.
// A column whose inputs' order is unspecified as the sorted list of its
// elements; an expression over such a column as the sorted list of the
// characters of its text (an order-insensitive form, weaker than the
// column's own). A variance or standard deviation over floats, and a float
// expression over one, as a double (compared within kFloatTolerance when
// they differ: VerifySql).
std::string Compared(const ViewDefinition& view, const OutputColumn& c, const std::string& ref) {
    if (OrderIsUnspecified(view, c)) {
        if (c.role == ColumnRole::Aggregate) return Unordered(*c.aggregate, ref);
        return SortedElements(ref, "__ivm_e", "regexp_split_to_table(CAST(" + ref + " AS text), '') AS __ivm_e");
    }
    if (FloatOrderDependent(view, c)) return "CAST(" + ref + " AS double precision)";
    const bool as_text = !c.has_equality || (IsNumeric(c) && DisplayIsDetermined(view, c));
    return as_text ? "CAST(" + ref + " AS text)" : ref;
}

}  // namespace

std::string VerifySql(const ViewDefinition& view, const std::string& definition_sql) {
    std::vector<std::string> names, stored, query, match;
    bool tolerant = false;
    for (const auto& c : view.columns) {
        if (c.hidden) continue;
        const std::string alias = "__ivm_c" + std::to_string(names.size() + 1);
        names.push_back(QuoteIdent(c.name));
        stored.push_back(Compared(view, c, QualifiedColumn("__ivm_s", c.name)) + " AS " + alias);
        query.push_back(Compared(view, c, QualifiedColumn("__ivm_q", c.name)) + " AS " + alias);
        const std::string a = "__ivm_a." + alias, b = "__ivm_b." + alias;
        std::string same = a + " IS NOT DISTINCT FROM " + b;
        if (FloatOrderDependent(view, c)) {
            tolerant = true;
            same = "(" + same + " OR " + WithinTolerance(a, b) + ")";
        }
        match.push_back(same);
    }
    const std::string stored_rows =
        "SELECT " + Join(stored, ", ") + " FROM " + QuoteQualified(view.immv) + " AS __ivm_s";
    const std::string query_rows =
        "SELECT " + Join(query, ", ") + " FROM (" + definition_sql + ") AS __ivm_q(" + Join(names, ", ") + ")";
    if (!tolerant)
        return "SELECT (SELECT count(*) FROM (" + stored_rows + " EXCEPT ALL " + query_rows +
               ") AS __ivm_a) + (SELECT count(*) FROM (" + query_rows + " EXCEPT ALL " + stored_rows + ") AS __ivm_b)";
    // The rows that differ exactly, less those that pair up within the
    // tolerance (one to one where the visible columns hold the group key).
    auto paired = [&](const std::string& from, const std::string& other) {
        return "(SELECT count(*) FROM __ivm_" + from + " WHERE EXISTS (SELECT FROM __ivm_" + other + " WHERE " +
               Join(match, " AND ") + "))";
    };
    return "WITH __ivm_sr AS MATERIALIZED (" + stored_rows + "), __ivm_qr AS MATERIALIZED (" + query_rows +
           "), __ivm_a AS MATERIALIZED (SELECT * FROM __ivm_sr EXCEPT ALL SELECT * FROM __ivm_qr), __ivm_b AS "
           "MATERIALIZED (SELECT * FROM __ivm_qr EXCEPT ALL SELECT * FROM __ivm_sr) SELECT (SELECT count(*) FROM "
           "__ivm_a) + (SELECT count(*) FROM __ivm_b) - 2 * LEAST(" +
           paired("a", "b") + ", " + paired("b", "a") + ")";
}

}  // namespace ivmx::core
