// Random data-changing statements over the stress test's schema.
//
// Each call of Next() picks a table and a statement shape: single- and
// multi-row INSERT, INSERT ... SELECT, UPDATE and DELETE (by key or by a
// random predicate), INSERT ... ON CONFLICT, COPY FROM STDIN, writable CTEs
// that change one table twice (or two tables at once), and TRUNCATE. Any
// statement on t_pk or t_fk may change other tables too (ON DELETE/UPDATE
// CASCADE, t_fk's mirror triggers, see schema.cpp).
#pragma once

#include <string>
#include <vector>

#include "rng.hpp"
#include "schema.hpp"
#include "values.hpp"

namespace stress {

// One statement to send: plain SQL, or a COPY command with its data rows.
struct Statement {
    std::string sql;
    std::vector<std::string> copy_rows = {};  // text-format rows; non-empty only for COPY

    bool IsCopy() const { return !copy_rows.empty(); }
    bool IsTruncate() const { return sql.compare(0, 9, "TRUNCATE ") == 0; }
    // The statement as a psql script fragment (COPY data and its \. included).
    std::string Script() const;
};

// Relative frequencies of the statement shapes.
struct DmlWeights {
    int insert_one = 12;
    int insert_many = 10;
    int insert_select = 4;
    int update_one = 12;
    int update_many = 12;
    int delete_one = 9;
    int delete_many = 7;
    int upsert = 8;
    int copy = 3;
    int writable_cte = 5;
    int truncate_per_mille = 3;  // per 1000 statements
};

class DmlGenerator {
  public:
    // `stream` of `streams`: see KeySource.
    DmlGenerator(Rng& rng, int stream, int streams, DmlWeights weights = {});

    Statement Next();

    // INSERT of `rows` random rows into `table` (also used to load initial data).
    Statement Insert(const Table& table, int rows);

  private:
    Statement InsertSelect(const Table& table);
    Statement Update(const Table& table, bool single_row);
    Statement Delete(const Table& table, bool single_row);
    Statement Upsert(const Table& table);
    Statement Copy(const Table& table);
    Statement WritableCte(const Table& table);
    Statement Truncate();
    std::string RowValues(const Table& table);
    std::string KeyedRowValues(const Table& table, std::vector<std::string>& used_keys);
    std::string ConflictAction(const Table& table);
    std::string MovedColumns(const Table& table, const std::string& ordinal_sql, int max_rows);

    Rng& rng_;
    KeySource keys_;
    ValueSource values_;
    DmlWeights weights_;
};

}  // namespace stress
