// A small libpq client for the behaviour tests of the core's SQL: one
// connection, statements with text parameters, results as text.
#pragma once

#include <libpq-fe.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ivmx::sqlb {

// A statement the server refused, with its SQLSTATE and text.
class SqlError : public std::runtime_error {
  public:
    SqlError(const std::string& sqlstate, const std::string& message, const std::string& sql)
        : std::runtime_error(message + " [SQLSTATE " + sqlstate + "]\n    in: " + sql),
          sqlstate_(sqlstate),
          sql_(sql) {}
    const std::string& sqlstate() const { return sqlstate_; }
    const std::string& sql() const { return sql_; }

  private:
    std::string sqlstate_;
    std::string sql_;
};

// One value of a result or of a parameter: nullopt is SQL NULL.
using Value = std::optional<std::string>;
using Row = std::vector<Value>;

struct Rows {
    std::vector<std::string> columns;
    std::vector<Row> rows;
};

// A parameter: its text value and, optionally, its type (an OID; 0 lets
// the server infer it).
struct Param {
    Value value;
    unsigned int type = 0;
};

// Well-known type OIDs of parameters.
constexpr unsigned int kTidArrayOid = 1010;

class Session {
  public:
    // Connects with libpq's environment (PGHOST, PGPORT, PGUSER) to `dbname`.
    explicit Session(const std::string& dbname);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Runs one or more statements without parameters (simple protocol).
    void Exec(const std::string& sql);
    // Runs one statement with parameters $1... (extended protocol, as SPI
    // runs prepared statements) and returns its rows (none for commands).
    Rows Query(const std::string& sql, const std::vector<Param>& params = {});
    // The only value of a one-row, one-column query (throws otherwise).
    Value Scalar(const std::string& sql, const std::vector<Param>& params = {});

  private:
    PGconn* conn_ = nullptr;
};

// A SQL string literal ('...'), quotes doubled.
std::string Literal(const std::string& text);

// Rows as text, one per line, NULL as "NULL", for failure messages.
std::string Describe(const Rows& rows, size_t limit = 40);

}  // namespace ivmx::sqlb
