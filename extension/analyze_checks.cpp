// Expression checks and type facts of the analysis (see analyze_checks.hpp).
#include "analyze_checks.hpp"

#include "ivmx/core/error.hpp"
#include "ivmx/pg/guards.hpp"

namespace ivmx::pg {

using core::NotSupported;

namespace {

// What an expression walk found that the engine cannot maintain. Plain
// data (the walk runs inside PgCall): `what` points to a static string.
struct ExpressionProblem {
    enum class Kind { kNone, kConstruct, kSystemColumn, kValueFunction, kFunction };
    Kind kind = Kind::kNone;
    const char* what = nullptr;  // the construct, system column or SQL value function
    Oid function = InvalidOid;   // kFunction: the function that is not immutable
    // Parameters stand for aggregates and group keys in an expression over
    // aggregates (ReplaceOperands): they are not the user's.
    bool params_allowed = false;
    // Window functions of a window view (its partitions are recomputed).
    bool windows_allowed = false;
};

bool IsNotImmutable(Oid func_id, void* context) {
    if (func_volatile(func_id) == PROVOLATILE_IMMUTABLE) return false;
    auto* problem = static_cast<ExpressionProblem*>(context);
    problem->kind = ExpressionProblem::Kind::kFunction;
    problem->function = func_id;
    return true;
}

// The SQL spelling of current_date, current_user and friends (all of them
// depend on the time, the session or the role, none is immutable).
const char* SqlValueFunctionName(const SQLValueFunction* f) {
    switch (f->op) {
        case SVFOP_CURRENT_DATE:
            return "CURRENT_DATE";
        case SVFOP_CURRENT_TIME:
        case SVFOP_CURRENT_TIME_N:
            return "CURRENT_TIME";
        case SVFOP_CURRENT_TIMESTAMP:
        case SVFOP_CURRENT_TIMESTAMP_N:
            return "CURRENT_TIMESTAMP";
        case SVFOP_LOCALTIME:
        case SVFOP_LOCALTIME_N:
            return "LOCALTIME";
        case SVFOP_LOCALTIMESTAMP:
        case SVFOP_LOCALTIMESTAMP_N:
            return "LOCALTIMESTAMP";
        case SVFOP_CURRENT_ROLE:
            return "CURRENT_ROLE";
        case SVFOP_CURRENT_USER:
            return "CURRENT_USER";
        case SVFOP_USER:
            return "USER";
        case SVFOP_SESSION_USER:
            return "SESSION_USER";
        case SVFOP_CURRENT_CATALOG:
            return "CURRENT_CATALOG";
        case SVFOP_CURRENT_SCHEMA:
            return "CURRENT_SCHEMA";
    }
    return "SQL value function";
}

// Whether the node is text || x or x || text (textanycat, anytextcat) with x
// of a type whose output function is immutable (numbers, booleans, text):
// PostgreSQL marks these operators stable only because some types' output
// depends on settings (dates, timestamps), so for these types the
// concatenation is immutable. PostgreSQL data only (runs inside PgCall).
bool IsImmutableConcatenation(Node* node) {
    Oid func = InvalidOid;
    List* args = NIL;
    if (IsA(node, OpExpr)) {
        OpExpr* op = castNode(OpExpr, node);
        set_opfuncid(op);
        func = op->opfuncid;
        args = op->args;
    } else if (IsA(node, FuncExpr)) {
        func = castNode(FuncExpr, node)->funcid;
        args = castNode(FuncExpr, node)->args;
    }
    if (func != F_TEXTANYCAT && func != F_ANYTEXTCAT) return false;
    ListCell* lc;
    foreach (lc, args) {
        Oid output = InvalidOid;
        bool varlena = false;
        getTypeOutputInfo(exprType(static_cast<Node*>(lfirst(lc))), &output, &varlena);
        if (func_volatile(output) != PROVOLATILE_IMMUTABLE) return false;
    }
    return true;
}

// Expression walker (a PostgreSQL C callback: records the problem in plain
// data, never throws).
bool FindProblem(Node* node, void* context) {
    using Kind = ExpressionProblem::Kind;
    if (node == nullptr) return false;
    auto* problem = static_cast<ExpressionProblem*>(context);
    auto found = [problem](Kind kind, const char* what) {
        problem->kind = kind;
        problem->what = what;
        return true;
    };
    if (IsA(node, Var)) {
        Var* var = castNode(Var, node);
        if (var->varattno < 0)
            return found(Kind::kSystemColumn, NameStr(SystemAttributeDefinition(var->varattno)->attname));
        if (var->varattno == 0) return found(Kind::kConstruct, "a whole-row reference");
        return false;
    }
    if (IsA(node, SubLink)) return found(Kind::kConstruct, "a subquery");
    if (IsA(node, Aggref)) return found(Kind::kConstruct, "an aggregate function inside an expression");
    if (IsA(node, WindowFunc) && !problem->windows_allowed) return found(Kind::kConstruct, "a window function");
    if (IsA(node, GroupingFunc)) return found(Kind::kConstruct, "GROUPING()");
    if (IsA(node, Param) && !problem->params_allowed) return found(Kind::kConstruct, "a parameter");
    if (IsA(node, NextValueExpr)) return found(Kind::kConstruct, "nextval()");
    if (IsA(node, SQLValueFunction))
        return found(Kind::kValueFunction, SqlValueFunctionName(castNode(SQLValueFunction, node)));
    if (!IsImmutableConcatenation(node) && check_functions_in_node(node, IsNotImmutable, context)) return true;
    return expression_tree_walker(node, reinterpret_cast<bool (*)()>(reinterpret_cast<void*>(FindProblem)), context);
}

}  // namespace

[[noreturn]] void Unsupported(const std::string& construct, const std::string& hint) {
    throw NotSupported(construct + " is not supported on incrementally maintainable materialized views", {}, hint);
}

constexpr const char* kReevaluatedDetail =
    "Maintenance re-evaluates expressions at later times; their result must depend only on their "
    "arguments.";

void CheckExpression(Node* expr, bool params_allowed, bool windows_allowed) {
    using Kind = ExpressionProblem::Kind;
    ExpressionProblem problem;
    problem.params_allowed = params_allowed;
    problem.windows_allowed = windows_allowed;
    PgCall([&] { FindProblem(expr, &problem); });
    switch (problem.kind) {
        case Kind::kNone:
            return;
        case Kind::kConstruct:
            Unsupported(problem.what);
        case Kind::kSystemColumn:
            Unsupported("system column \"" + std::string(problem.what) + "\"");
        case Kind::kValueFunction:
            throw NotSupported("non-immutable function " + std::string(problem.what) +
                                   " is not supported on incrementally maintainable materialized views",
                               kReevaluatedDetail);
        case Kind::kFunction: {
            const char* name = PgCall([&] { return get_func_name(problem.function); });
            throw NotSupported("non-immutable function " + std::string(name != nullptr ? name : "?") +
                                   "() is not supported on incrementally maintainable materialized views",
                               kReevaluatedDetail);
        }
    }
}

std::string TypeName(Oid type) {
    return PgCall([&] { return format_type_be(type); });
}

std::string QualifiedTypeName(Oid type, int32 typmod) {
    return PgCall(
        [&] { return format_type_extended(type, typmod, FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY); });
}

bool HasBtreeEquality(Oid type) {
    return PgCall([&] {
        TypeCacheEntry* tc = lookup_type_cache(type, TYPECACHE_BTREE_OPFAMILY | TYPECACHE_EQ_OPR);
        return OidIsValid(tc->btree_opf) && OidIsValid(tc->eq_opr);
    });
}

}  // namespace ivmx::pg
