// The FROM items of an IMMV's (flattened) defining query as the view IR
// names them: base relation occurrences, numbered in range-table order, then
// constant relations (functions in FROM), and the deparsing of expressions
// over them with every column reference prefixed by the item's alias.
#pragma once

#include <string>
#include <vector>

#include "ivmx/pg/postgres.hpp"

namespace ivmx::pg {

// Renumbers Vars from range-table indexes to positions in the scope's
// deparse range table (1-based: relation occurrences, then constant
// relations) and drops their syntactic (join alias) referents. PostgreSQL
// data only.
struct RenumberContext {
    std::vector<int> occurrence_of_rtindex;  // indexed by rtindex; 0 = neither kind
};

class RelationScope {
  public:
    // The FROM item a range-table entry is.
    struct Item {
        bool constant = false;  // a constant relation rather than a relation occurrence
        size_t index = 0;       // its 0-based number among its kind
    };

    // Builds the scope of q (flattened: every subquery pulled up). The column
    // names of each function in FROM are made unique within it (as
    // unnest(a, b) returns two columns named unnest), so that every column
    // can be named.
    explicit RelationScope(Query* q);

    // Join aliases flattened, Vars numbered by position in the scope.
    Node* Normalize(Node* expr) const;

    // The expression deparsed over the scope's aliases.
    std::string operator()(Node* expr) const;

    // Base relation occurrences.
    size_t size() const { return relids_.size(); }
    Oid relid(size_t i) const { return relids_[i]; }
    const std::vector<std::string>& columns_read(size_t i) const { return columns_read_[i]; }
    // The alias of relation occurrence i as it appears in deparsed
    // expressions (quoted if needed).
    std::string quoted_alias(size_t i) const { return QuotedAlias(i); }

    // Constant relations: the range-table entries of the functions in FROM
    // (copies with unique column names), and their quoted aliases.
    size_t constant_count() const { return constants_.size(); }
    RangeTblEntry* constant_entry(size_t k) const { return constants_[k]; }
    std::string constant_quoted_alias(size_t k) const { return QuotedAlias(relids_.size() + k); }

    // The set operations in FROM (subqueries with UNION / INTERSECT /
    // EXCEPT), whose columns expressions read as __ivm_set.__ivm_col_<n>.
    const std::vector<Query*>& union_queries() const { return union_queries_; }
    // The FROM item at range-table index rtindex. Throws internal_error for
    // an entry that is neither a relation nor a function.
    Item ItemOf(Index rtindex) const;

    // The relation occurrence (0-based) at range-table index rtindex.
    // Throws internal_error if that entry is not a relation.
    size_t OccurrenceOf(Index rtindex) const;

  private:
    static std::vector<std::string> ColumnsRead(RangeTblEntry* rte);
    static List* MarkedColumnNames(RangeTblEntry* rte);
    static RangeTblEntry* WithUniqueColumnNames(RangeTblEntry* rte);
    std::string UniqueAlias(const std::string& wanted) const;
    std::string QuotedAlias(size_t position) const;
    void AddItem(RangeTblEntry* rte, Index rtindex);

    Query* query_;
    RenumberContext context_;
    std::vector<std::string> aliases_;  // relation occurrences, then constants
    std::vector<Oid> relids_;
    std::vector<std::vector<std::string>> columns_read_;
    std::vector<RangeTblEntry*> relations_;
    std::vector<RangeTblEntry*> constants_;
    std::vector<RangeTblEntry*> unions_;  // copies with the alias and column names expressions use
    std::vector<Query*> union_queries_;
    List* deparse_context_ = nullptr;
};

}  // namespace ivmx::pg
