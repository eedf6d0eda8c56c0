// Functions in FROM as constant relations (see extension/constant_relations.hpp).
#include "constant_relations.hpp"

#include <string>
#include <vector>

#include "analyze.hpp"
#include "analyze_checks.hpp"
#include "ivmx/core/error.hpp"
#include "ivmx/core/sql_text.hpp"
#include "ivmx/pg/guards.hpp"
#include "pg_util.hpp"

namespace ivmx::pg {

namespace {

// check_functions_in_node callbacks (plain data, run inside PgCall):
// whether a function is not immutable, recording it; and recording the
// first function met.
bool RecordNotImmutable(Oid func_id, void* context) {
    if (func_volatile(func_id) == PROVOLATILE_IMMUTABLE) return false;
    *static_cast<Oid*>(context) = func_id;
    return true;
}

bool RecordFunction(Oid func_id, void* context) {
    *static_cast<Oid*>(context) = func_id;
    return true;
}

// Expression walker finding the first function that is not immutable, the
// node itself before its arguments. A PostgreSQL callback: never throws.
bool FindNotImmutable(Node* node, void* context) {
    if (node == nullptr) return false;
    if (check_functions_in_node(node, RecordNotImmutable, context)) return true;
    return expression_tree_walker(node, reinterpret_cast<bool (*)()>(reinterpret_cast<void*>(FindNotImmutable)),
                                  context);
}

// The name of the function a FROM item calls, for messages: the function of
// a call, else the first function in it, else a description.
std::string CalledFunctionName(Node* funcexpr) {
    const char* name = PgCall([&]() -> const char* {
        if (IsA(funcexpr, FuncExpr)) return get_func_name(castNode(FuncExpr, funcexpr)->funcid);
        Oid first = InvalidOid;
        check_functions_in_node(funcexpr, RecordFunction, &first);
        return OidIsValid(first) ? get_func_name(first) : nullptr;
    });
    return name != nullptr ? std::string(name) + "()" : std::string("an expression");
}

constexpr const char* kConstantHint =
    "A function in FROM is maintained as a relation that never changes: it must be immutable, with constant "
    "arguments. Store the function's rows in a table and join that table instead.";

[[noreturn]] void RejectNotImmutable(Node* funcexpr, Oid function) {
    struct Facts {
        const char* name;
        const char* signature;
        char volatility;
    };
    const Facts facts = PgCall([&] {
        return Facts{get_func_name(function), format_procedure(function), func_volatile(function)};
    });
    const std::string name = std::string(facts.name != nullptr ? facts.name : "?") + "()";
    const std::string called = CalledFunctionName(funcexpr);
    std::string detail =
        std::string(facts.signature) + " is " + (facts.volatility == PROVOLATILE_STABLE ? "stable" : "volatile");
    if (called != name) detail += ", called in the arguments of " + called;
    throw core::NotSupported(
        "non-immutable function " + name + " in FROM is not supported on incrementally maintainable materialized views",
        detail + ".", kConstantHint);
}

// Checks one function of a FROM item (one of ROWS FROM's): immutable
// functions over constants only.
void CheckFunction(Node* funcexpr) {
    Oid not_immutable = InvalidOid;
    PgCall([&] { FindNotImmutable(funcexpr, &not_immutable); });
    if (OidIsValid(not_immutable)) RejectNotImmutable(funcexpr, not_immutable);
    if (PgCall([&] { return contain_var_clause(funcexpr); }))
        throw core::NotSupported("function " + CalledFunctionName(funcexpr) +
                                     " in FROM reading columns of other FROM items (LATERAL) is not supported on "
                                     "incrementally maintainable materialized views",
                                 {}, kConstantHint);
    if (PgCall([&] { return checkExprHasSubLink(funcexpr); }))
        throw core::NotSupported("a subquery in the arguments of function " + CalledFunctionName(funcexpr) +
                                     " in FROM is not supported on incrementally maintainable materialized views",
                                 {}, kConstantHint);
    CheckExpression(funcexpr);
}

// The SQL type of a column: schema-qualified, with its modifier.
std::string TypeSql(Oid type, int32 typmod) {
    const char* text = PgCall(
        [&] { return format_type_extended(type, typmod, FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY); });
    return text;
}

// A column definition list (AS (name type, ...)) of a function returning
// record, or "" for one that has none.
std::string ColumnDefinitions(RangeTblFunction* function) {
    std::vector<std::string> definitions;
    for (int i = 0; i < list_length(function->funccolnames); ++i) {
        const Oid type = list_nth_oid(function->funccoltypes, i);
        std::string definition = core::QuoteIdent(strVal(list_nth(function->funccolnames, i))) + " " +
                                 TypeSql(type, list_nth_int(function->funccoltypmods, i));
        const Oid collation = list_nth_oid(function->funccolcollations, i);
        if (OidIsValid(collation) && collation != PgCall([&] { return get_typcollation(type); })) {
            const char* name = PgCall([&] { return generate_collation_name(collation); });
            definition += " COLLATE " + std::string(name);
        }
        definitions.push_back(std::move(definition));
    }
    return definitions.empty() ? "" : " AS (" + core::Join(definitions, ", ") + ")";
}

// One function of a ROWS FROM item: a plain call as deparsed, anything else
// (a cast, COALESCE, SQL-syntax functions such as EXTRACT) inside CAST(... AS
// type), which the grammar accepts there, as PostgreSQL's deparser does.
std::string FunctionItem(const RelationScope& scope, RangeTblFunction* function) {
    Node* funcexpr = function->funcexpr;
    std::string sql = scope(funcexpr);
    if (!IsA(funcexpr, FuncExpr) || castNode(FuncExpr, funcexpr)->funcformat != COERCE_EXPLICIT_CALL)
        sql = "CAST(" + sql + " AS " +
              TypeSql(PgCall([&] { return exprType(funcexpr); }), PgCall([&] { return exprTypmod(funcexpr); })) + ")";
    return sql + ColumnDefinitions(function);
}

// The columns of a function's range-table entry (ordinality included), as
// expandRTE lists them: the names its eref gives them and the types of the
// Vars that would read them. A name that is empty is a column of a
// composite result type dropped since the query was parsed.
std::vector<core::ConstantColumn> ConstantColumns(RangeTblEntry* rte) {
    List* names = NIL;
    List* vars = NIL;
    PgCall([&] { expandRTE(rte, 1, 0, -1, true, &names, &vars); });
    std::vector<core::ConstantColumn> columns;
    for (int i = 0; i < list_length(names); ++i) {
        const std::string name = strVal(list_nth(names, i));
        Node* var = static_cast<Node*>(list_nth(vars, i));
        if (name.empty() || !IsA(var, Var))
            throw core::NotSupported(
                "a function in FROM whose result type has dropped columns is not supported on incrementally "
                "maintainable materialized views",
                {}, "Recreate the function's result type without the dropped columns.");
        columns.push_back({name, TypeSql(castNode(Var, var)->vartype, castNode(Var, var)->vartypmod)});
    }
    return columns;
}

}  // namespace

void CheckConstantFunction(RangeTblEntry* rte) {
    ListCell* lc;
    foreach (lc, rte->functions) CheckFunction(lfirst_node(RangeTblFunction, lc)->funcexpr);
}

core::ConstantRelation DescribeConstant(const RelationScope& scope, size_t k) {
    RangeTblEntry* rte = scope.constant_entry(k);
    CheckConstantFunction(rte);
    std::vector<std::string> functions;
    ListCell* lc;
    foreach (lc, rte->functions) functions.push_back(FunctionItem(scope, lfirst_node(RangeTblFunction, lc)));
    core::ConstantRelation constant;
    constant.function_sql =
        "ROWS FROM (" + core::Join(functions, ", ") + ")" + (rte->funcordinality ? " WITH ORDINALITY" : "");
    constant.alias = scope.constant_quoted_alias(k);
    constant.columns = ConstantColumns(rte);
    return constant;
}

}  // namespace ivmx::pg
