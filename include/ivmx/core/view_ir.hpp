// The view IR: what the engine knows about an IMMV's defining query.
//
// The server glue analyses a PostgreSQL Query into this form; everything
// after that (maintenance SQL, the shape of the IMMV table, its index) is
// derived from it by the core without looking at PostgreSQL again.
// Expressions are carried as SQL text produced by PostgreSQL's deparser, with
// every column reference prefixed by its relation's alias (BaseRelation::alias),
// so that the same text can be evaluated over the base table or over a
// transition table / delta standing in for it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ivmx::core {

struct QualifiedName {
    std::string schema;
    std::string name;
};

// One occurrence of a base relation in the FROM clause.
struct BaseRelation {
    QualifiedName name;
    std::string alias;             // as used by the deparsed expressions (already quoted if needed)
    unsigned int relation_id = 0;  // the relation's identity in the server (its OID)
    // The columns the view reads of it; empty: every column.
    std::vector<std::string> columns_read;
};

// A column of a constant relation: its name in the FROM item's column alias
// list (unquoted) and its SQL type (schema-qualified, with its modifier).
struct ConstantColumn {
    std::string name;
    std::string type_sql;
};

// An occurrence of a relation that never changes: a function in FROM (or
// ROWS FROM of several) that is immutable and whose arguments are constants,
// such as generate_series(1, 10) or unnest('{1,2}'::int[]). It has no
// identity in the server: no trigger, delta log, lock or dependency edge is
// ever attached to it, and every delta term reads it in full (it is never a
// changed occurrence). A view whose FROM clause holds constants only, or
// nothing at all (SELECT 1), never changes.
struct ConstantRelation {
    // The FROM item without its alias: "ROWS FROM (generate_series(1, 10))".
    std::string function_sql;
    std::string alias;                    // as used by the deparsed expressions (already quoted if needed)
    std::vector<ConstantColumn> columns;  // every column it returns, WITH ORDINALITY's included, in order
};

// The FROM item reading a constant relation under its alias, with every
// column named: "<function_sql> AS <alias>("c1", ...)" (no column list for
// a relation without columns).
std::string ConstantFromItem(const ConstantRelation& constant);

// The relation of one row and no column, "(SELECT) AS __ivm_unit": what a
// view without FROM reads where a join tree needs a FROM item (the left
// side of SELECT 1 WHERE EXISTS (...), a semi-join).
ConstantRelation UnitRelation();

// The aggregates the engine maintains; how each is kept is the strategy
// aggregate_rules.hpp gives it (AggregateStrategy). every() is bool_and(),
// variance() is var_samp(), stddev() is stddev_samp().
enum class AggregateKind {
    CountStar,
    Count,
    Sum,
    Avg,
    Min,
    Max,
    BoolAnd,
    BoolOr,
    BitAnd,
    BitOr,
    BitXor,
    VarPop,
    VarSamp,
    StddevPop,
    StddevSamp,
    StringAgg,
    ArrayAgg,
    JsonAgg,
    JsonbAgg,
    JsonbObjectAgg,
};

// An aggregate in the select list, with the type facts maintenance needs.
struct Aggregate {
    AggregateKind kind = AggregateKind::CountStar;
    std::string argument_sql;   // empty for count(*)
    std::string argument_type;  // SQL type name of the argument (empty for count(*))
    std::string result_type;    // SQL type name of the aggregate's result
    std::string filter_sql;     // the condition of FILTER (WHERE ...); empty: none
    // A numeric argument whose type modifier fixes its display scale
    // (numeric(p,s)): every value has scale s, and so has their sum.
    bool scale_fixed = false;
    // For aggregates with several arguments or ORDER BY (string_agg,
    // array_agg, the JSON aggregates): what goes between the parentheses
    // of the call, every argument and the ORDER BY clause; argument_sql is
    // then the first argument only. Empty: the call is name(argument_sql).
    std::string call_arguments_sql;
    bool ordered = false;  // the call has ORDER BY
    // string_agg's delimiter when it is a non-empty constant (the result
    // of an unordered string_agg is then compared piece by piece).
    std::string constant_delimiter_sql;
    // count/sum/avg(DISTINCT x): over the distinct non-null values of the
    // group, whose multiplicities a companion table keeps (DistinctValues).
    bool distinct = false;
};

// The non-null values of the argument of DISTINCT aggregates (with one
// FILTER), counted per group in a companion table of the IMMV: the group
// keys, the value (DistinctValueColumn()) and the number of input rows
// holding it (MultiplicityColumn()). A value that comes or goes changes the
// group's DISTINCT aggregates; one whose count merely changes does not.
struct DistinctValues {
    QualifiedName table;
    std::string argument_sql;
    std::string argument_type;
    std::string filter_sql;
};

// How an output column of the IMMV table is computed and maintained.
enum class ColumnRole {
    Plain,                // a projected expression of an ungrouped view (bag or DISTINCT)
    GroupKey,             // a GROUP BY expression, or any other non-aggregate output of a
                          // grouped view (a function of the group: keying by it too gives
                          // the same groups)
    Aggregate,            // an aggregate call
    AggregateExpression,  // an expression over aggregates and group keys (sum(x) + 1),
                          // re-evaluated over the columns it reads whenever its row is written
};

struct OutputColumn {
    std::string name;
    ColumnRole role = ColumnRole::Plain;
    // Plain, GroupKey: SQL over the relations' aliases. AggregateExpression: a
    // template in which $n (outside literals and quoted names) stands for the
    // value of column operands[n - 1] of the same row.
    std::string expression_sql;
    std::optional<Aggregate> aggregate;
    std::vector<size_t> operands;  // AggregateExpression: indexes into ViewDefinition::columns
    bool hidden = false;           // not part of the user's select list (a GROUP BY key it omits)
    bool not_null = false;         // known never to be NULL (a NOT NULL column read directly)
    bool has_equality = true;      // the type has a btree equality (needed to match rows)
    std::string type_sql;          // SQL type name of the expression (informative; CREATE TABLE AS decides)
};

// The FROM clause as a tree, for views that are not plain inner joins (outer
// joins, EXISTS / NOT EXISTS). Leaves are base relation occurrences; every
// condition is SQL over the occurrences' aliases.
struct JoinTree {
    enum class Kind {
        Relation,  // view.relations[occurrence]
        Constant,  // view.constants[occurrence]: never changes
        Inner,     // children[0] JOIN children[1] ON condition (empty: a cross join)
        Left,      // children[0] LEFT JOIN children[1] ON condition
        Full,      // children[0] FULL JOIN children[1] ON condition
        Filter,    // rows of children[0] for which condition holds
        Semi,      // rows of children[0] with a row of children[1] satisfying condition (EXISTS)
        Anti,      // rows of children[0] with no such row (NOT EXISTS)
    };
    Kind kind = Kind::Relation;
    size_t occurrence = 0;
    std::string condition_sql;
    std::vector<JoinTree> children;
};

// GROUPING SETS, ROLLUP and CUBE are kept as a plain GROUP BY over one more
// constant relation, the numbers 0 .. k-1 of the k grouping sets: a key is
// NULL in the sets that do not group by it, and the hidden key column
// GroupingSetColumn() holds the set's number. The group of an empty
// grouping set () exists over no input row too, as the one row of an
// aggregate without GROUP BY does: it is kept at multiplicity 0.
struct EmptyGroupingSet {
    size_t set = 0;  // its number
    // Per view.columns index: the SQL, without column references, of the
    // value of that key column in the set's group; empty for non-keys.
    std::vector<std::string> key_values;
};

// ORDER BY ... LIMIT n [OFFSET m] (top-K): the view's rows are those of the
// view without it, in that order, from the (m+1)-th to the (m+n)-th (and the
// rows tied with the last with WITH TIES). Maintained by computing the top
// rows again after each change and writing the difference to the IMMV
// (TopKDiff in core/sql_writer.hpp): with an index matching the order, that
// reads about m + n rows.
struct TopK {
    std::vector<std::string> order_by;  // "<quoted output column> ASC|DESC NULLS FIRST|LAST", in order
    long long limit = 0;
    long long offset = 0;
    bool with_ties = false;
};

// Window functions or DISTINCT ON over one relation: each output row
// depends only on the rows of its partition, those with the same values of
// the partition keys (the PARTITION BY expressions every window shares, or
// the DISTINCT ON expressions). A change recomputes the partitions of the
// rows it changed: their IMMV rows are deleted and computed again from the
// base (PartitionRecompute in core/sql_writer.hpp); without keys, the whole
// view. The query text comes from PostgreSQL's own printing (window
// definitions cannot be printed apart from their query).
struct PartitionRecompute {
    std::vector<std::string> keys;         // SQL of the keys over the relation (under its alias)
    std::vector<std::string> key_columns;  // the hidden IMMV columns holding them, in order
    std::string query_sql;                 // the view's query, the key columns last
    // The same query restricted to the partitions named by the rows of
    // "__ivm_touched" (columns __ivm_k1, __ivm_k2, ...: the keys' values).
    std::string touched_query_sql;
};

// The condition that the value of key number k (from 1; SQL `value`) is
// one of the touched partitions' (see PartitionRecompute): a superset of
// the touched partitions when there are several keys, the same for IMMV
// rows and base rows.
std::string TouchedKeyCondition(const std::string& value, size_t k);
// Its parts: the non-null values of key k among the touched partitions (an
// array), and whether one of them has a NULL key k.
std::string TouchedValues(size_t k);
std::string TouchedNull(size_t k);

enum class ViewShape {
    Bag,              // SELECT exprs FROM ... WHERE ...: duplicates are physical rows
    Distinct,         // SELECT DISTINCT ...
    Grouped,          // GROUP BY with aggregates
    GlobalAggregate,  // aggregates, no GROUP BY: exactly one row
};

struct ViewDefinition {
    QualifiedName immv;
    std::vector<BaseRelation> relations;  // FROM list: every occurrence of a base relation
    // The FROM list's constant relations, read in full by every statement
    // (after the relations in an inner join's FROM list). A view without
    // relations never changes; without constants either, it reads no FROM
    // list at all (SELECT 1 AS one).
    std::vector<ConstantRelation> constants;
    std::string where_sql;  // join conditions and WHERE, ANDed; empty when none
    // Set when the FROM clause has outer joins or EXISTS: the relations are
    // combined as the tree says, and where_sql holds only the top-level WHERE
    // (without its EXISTS conditions). Unset: an inner join of all relations.
    std::optional<JoinTree> join_tree;
    std::vector<OutputColumn> columns;  // select list order, hidden keys last
    ViewShape shape = ViewShape::Bag;
    // For a bag view: the output columns that carry the base table's primary
    // key, which makes IMMV rows unique (empty when the key is not selected).
    std::vector<std::string> row_key_columns;
    // Set for a view with HAVING: the table, a companion of the IMMV, that
    // holds the state of every group (the table layout of the view without
    // its HAVING, plus the condition's value in HavingColumn()). The IMMV
    // holds the visible columns and group keys of the groups that pass.
    std::optional<QualifiedName> groups_table;
    // The value counts behind the DISTINCT aggregates, one table per
    // argument and filter.
    std::vector<DistinctValues> distinct_values;
    // Set for a set operation (UNION / INTERSECT / EXCEPT [ALL]): its
    // leaves, each an ungrouped view (a bag, or DISTINCT) whose columns are
    // those of the set operation in order, reading its own relations. The
    // view itself reads the leaves' rows, unioned and tagged with their
    // leaf's number, as one relation "__ivm_set" (core/set_operation.hpp);
    // its relations are the leaves' relations, leaf after leaf.
    std::vector<ViewDefinition> branches;
    // For a view with GROUPING SETS, ROLLUP or CUBE: the empty grouping sets
    // (), whose group exists even when no row is read (see EmptyGroupingSet).
    std::vector<EmptyGroupingSet> empty_grouping_sets;
    // Set for ORDER BY ... LIMIT: the view is the top rows of the view
    // described by everything else.
    std::optional<TopK> top_k;
    // Set for window functions and DISTINCT ON (a bag view of one relation).
    std::optional<PartitionRecompute> partitions;
};

// The IMMV's hidden bookkeeping columns, derived from the definition.
std::string MultiplicityColumn();                     // __ivm_count__
std::string NonNullCountColumn(size_t column_index);  // __ivm_count_<n>__
std::string AvgSumColumn(size_t column_index);        // __ivm_sum_<n>__
std::string TrueCountColumn(size_t column_index);     // __ivm_true_<n>__
std::string SquareSumColumn(size_t column_index);     // __ivm_sq_<n>__ (and __ivm_sum_<n>__)
std::string LostExtremeColumn(size_t column_index);   // __ivm_lost_<n>__
std::string HiddenKeyColumn(size_t key_number);       // __ivm_key_<n>__
std::string UnevaluatedColumn();                      // __ivm_unevaluated__
std::string HiddenAggregateColumn(size_t number);     // __ivm_agg_<n>__: an aggregate used only in expressions
std::string HavingColumn();                           // __ivm_having__: the HAVING condition of a group
std::string DistinctValueColumn();                    // __ivm_value__: a value of a DistinctValues table
std::string CopiesColumn();       // __ivm_copies__: how many rows of a group a set operation outputs
std::string CopyNumberColumn();   // __ivm_copy__: which of those rows an IMMV row is (1, 2, ...)
std::string GroupingSetColumn();  // __ivm_gset__: the grouping set of a group

// The condition (SQL) that the IMMV row under `qualifier` is the group of an
// empty grouping set, which is kept at multiplicity 0; "" when the view has
// none.
std::string KeptGroupCondition(const ViewDefinition& view, const std::string& qualifier);

// The expression of the view's grouping-set column (GroupingSetColumn());
// throws Error (internal_error) when it has none.
const OutputColumn& GroupingSetKey(const ViewDefinition& view);

// Whether the view has expressions over aggregates (AggregateExpression).
bool HasAggregateExpressions(const ViewDefinition& view);

// Whether the column is a group key or DISTINCT/bag expression (it reads the
// relations directly), rather than an aggregate or an expression over them.
bool IsKeyColumn(const OutputColumn& column);

// The SQL of an AggregateExpression column with each operand $n replaced by
// value(operands[n - 1]), parenthesised. Placeholders are recognised outside
// string literals and quoted identifiers only. Throws Error (internal_error)
// for a placeholder without an operand.
std::string ExpandExpression(const OutputColumn& column, const std::function<std::string(size_t)>& value);

// One column of the IMMV table. The table holds the output columns (visible
// ones first, then hidden GROUP BY keys), then the bookkeeping state.
struct TableColumn {
    enum class Kind {
        Output,        // view.columns[index]
        Multiplicity,  // __ivm_count__: number of base rows behind the IMMV row
        NonNullCount,  // inputs of aggregate view.columns[index]: its non-null
                       // arguments (or rows, for aggregates that take NULLs in: InputCount)
        AvgSum,        // running sum of avg aggregate view.columns[index]
        TrueCount,     // true inputs of bool_and/bool_or aggregate view.columns[index]
        VarSum,        // sum (numeric) of the inputs of a variance or standard
                       // deviation kept as moments, view.columns[index]
        SquareSum,     // sum (numeric) of their squares
        LostExtreme,   // scratch flag of an aggregate of view.columns[index] that
                       // a change may leave to recompute (HasLostFlag: min/max,
                       // bit_and/bit_or, a sum that may have lost its display
                       // scale, moments over numeric, aggregates recomputed on
                       // every change); always NULL when stored
        Unevaluated,   // scratch flag of a group row whose expressions over aggregates are
                       // still to be evaluated (always NULL when stored)
    };
    Kind kind;
    size_t index;  // into view.columns (unused for Multiplicity)
    std::string name;
};

// The IMMV table's columns in table order.
std::vector<TableColumn> TableLayout(const ViewDefinition& view);

// The name of hidden state column `kind` of aggregate view.columns[i]
// (NonNullCount, AvgSum, VarSum, SquareSum, TrueCount, LostExtreme).
std::string StateColumnName(TableColumn::Kind kind, size_t column_index);

// Renames the visible output columns, in order, to names (which may be
// shorter than the visible column list: the rest keep their names).
// Throws Error (syntax_error) when more names than visible columns are given.
void ApplyColumnNames(ViewDefinition& view, const std::vector<std::string>& names);

// Checks what the engine needs of the output columns: names that do not
// collide with its own (__ivm*) or with each other, and an equality operator
// wherever rows are matched by value. Throws Error naming the column.
void ValidateColumns(const ViewDefinition& view);

// The delta of a view with k changed occurrences of relations has 3^k - 1
// streams (every non-empty subset, each member's inserted or deleted rows):
// a view may read one relation at most this often, so that a statement
// changing it has a delta of bounded size...
inline constexpr size_t kMaxOccurrencesPerRelation = 4;
// ...and a delta (of a batch changing several relations) is built from at
// most this many changed occurrences; a larger batch is recomputed instead.
inline constexpr size_t kMaxChangedOccurrences = 6;

// Rejects a view that reads one relation more than kMaxOccurrencesPerRelation
// times (SQLSTATE 54000), each leaf of a set operation on its own (their
// deltas add up). Called by ValidateColumns.
void ValidateRelations(const ViewDefinition& view);

// True if a user-visible name would collide with the engine's own columns.
bool IsReservedColumnName(const std::string& name);

// Whether the view shape is maintained by upserting rows keyed by group.
bool IsKeyed(ViewShape shape);

// The columns that identify an IMMV row (group keys, DISTINCT columns, or the
// base primary key of a bag view); empty when rows have no identity.
std::vector<std::string> IdentityColumns(const ViewDefinition& view);

// Whether the view is a bag whose rows carry base primary keys (its rows are
// identified, deleted and updated by key).
bool HasRowKey(const ViewDefinition& view);

// Whether the view reads whole rows of relation occurrence `occurrence`
// (a join tree carries them as rows of the relation's type; a whole-row
// reference reads every column), rather than its columns_read.
bool ReadsWholeRows(const ViewDefinition& view, size_t occurrence);

// Whether a netted batch that changed `changed_occurrences` relation
// occurrences can be applied by row key, as a statement's change is: a bag
// view with a row key and no outer join or EXISTS, with one changed
// occurrence. Netting leaves at most one deleted and one inserted row per
// base primary key, so each IMMV row key then occurs at most once per sign.
bool NettedBatchIsKeyed(const ViewDefinition& view, size_t changed_occurrences);

// Whether some base relation occurs more than once (a self-join).
bool HasRepeatedRelation(const ViewDefinition& view);

// Whether the view, or a leaf of its set operation, combines its relations
// through a join tree (outer joins, EXISTS, functions in FROM joined to a
// relation): its delta may read the state of the relations it changes.
bool HasJoinTree(const ViewDefinition& view);

// Whether maintenance reads the base relations' state beyond the changed
// rows, so that it must be the state as of the changes applied: a join tree
// (whether a row had a match) or a top-K (computed again).
bool ReadsRelationState(const ViewDefinition& view);

// The leaf of a set operation that reads occurrence `occurrence` of
// view.relations, and the occurrence's index among the leaf's relations.
struct BranchOccurrence {
    size_t branch = 0;
    size_t occurrence = 0;
};
BranchOccurrence BranchOf(const ViewDefinition& view, size_t occurrence);

// Whether the view reads no base relation (only constant relations, or no
// FROM list): its contents never change, and nothing maintains it.
bool IsConstantView(const ViewDefinition& view);

// Which concurrent writers of a view's base relations must take turns on its
// maintenance, so that the later one computes its delta after the earlier
// one committed (READ COMMITTED):
//   Free         none: row locks on the IMMV rows they change suffice (one
//                relation, rows identified by a key);
//   PerRelation  writers of different relations take turns; writers of this
//                relation alone may run together, as their deltas join their
//                own change with the other relations only;
//   Exclusive    every writer takes turns with every other: the relation
//                occurs several times (a self-join: the cross terms of one
//                relation), on the nullable side of an outer join or inside
//                EXISTS / NOT EXISTS (whether a row had a match before is
//                derived from the relation's state, which another writer of
//                it changes), or rows are matched by value (a bag without a
//                key: two writers would delete the same physical row).
enum class WriterConcurrency { Free, PerRelation, Exclusive };

// For writers of relation `relation_id` (a BaseRelation::relation_id).
WriterConcurrency WriterConcurrencyOf(const ViewDefinition& view, unsigned int relation_id);

// How many writers the locks of the view's maintenance hold up, for the one
// order in which every transaction locks the IMMVs it maintains (dependency
// depth, then this rank, then OID): 0 for views whose writers wait only for
// writers of the same rows (one relation, rows identified by a key); 1 for
// views whose writers may take turns on the whole IMMV (joins, bags without
// a key); 2 for an aggregate without GROUP BY and a view with an empty
// grouping set () (their one row, or the set's, is every writer's). A
// transaction takes the most contended locks last, so that it holds them
// for the shortest time.
int ContentionRank(const ViewDefinition& view);

}  // namespace ivmx::core
