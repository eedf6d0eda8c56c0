// A thin RAII wrapper around a libpq connection for the stress test.
//
// SQL errors are answers, not exceptions: Exec and Copy return them with
// their SQLSTATE so that the runners can tell expected failures (a unique
// violation, a deadlock to retry) from bugs. Only a broken connection, or a
// failure of a statement the caller marks as required (MustExec, Scalar),
// throws.
#pragma once

#include <libpq-fe.h>

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace stress {

// SQLSTATEs the runners react to.
namespace sqlstate {
inline const char* const kUniqueViolation = "23505";
inline const char* const kForeignKeyViolation = "23503";
inline const char* const kDeadlock = "40P01";
inline const char* const kSerializationFailure = "40001";
inline const char* const kLockNotAvailable = "55P03";  // lock_timeout expired
}  // namespace sqlstate

using Row = std::vector<std::optional<std::string>>;

// The outcome of one statement.
struct SqlResult {
    bool ok = false;
    std::string sqlstate;  // empty when ok
    std::string message;   // primary error message, empty when ok
    std::string detail;    // its DETAIL and CONTEXT, if any
    std::string context;
    std::vector<std::string> columns;
    std::vector<Row> rows;

    // "ok" or "ERROR <sqlstate>: <message>".
    std::string Summary() const;
};

// Thrown when the connection is unusable or a required statement fails.
class DatabaseError : public std::runtime_error {
  public:
    explicit DatabaseError(const std::string& what, std::string state = "", std::string detail_text = "",
                           std::string context_text = "")
        : std::runtime_error(what),
          sqlstate(std::move(state)),
          detail(std::move(detail_text)),
          context(std::move(context_text)) {}
    std::string sqlstate;  // of the failed statement, if there was one
    std::string detail;    // ... its DETAIL and CONTEXT
    std::string context;
};

class Connection {
  public:
    // Connects to `dbname` on the server named by PGHOST/PGPORT/PGUSER, with
    // notices silenced, a statement timeout so a hang becomes a failure, and
    // messages in English (lc_messages=C: a deadlock's DETAIL is parsed).
    explicit Connection(const std::string& dbname);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    SqlResult Exec(const std::string& sql);

    // Runs `copy_sql` (a COPY ... FROM STDIN) and sends `lines`, each one
    // text-format row without its newline, through PQputCopyData.
    SqlResult Copy(const std::string& copy_sql, const std::vector<std::string>& lines);

    // Exec that throws DatabaseError when the statement fails.
    SqlResult MustExec(const std::string& sql);

    // The first column of the first row of a statement that must succeed.
    std::string Scalar(const std::string& sql);

    // Whether the session is inside a transaction block (open or aborted).
    bool InTransaction() const;

    // Called with every statement (Exec, Copy, MustExec, Scalar) right
    // before it is sent.
    void OnSend(std::function<void(const std::string&)> observer) { on_send_ = std::move(observer); }

  private:
    SqlResult Collect(PGresult* result);
    PGconn* conn_ = nullptr;
    std::function<void(const std::string&)> on_send_;
};

// A SQL string literal for `text`.
std::string Quote(const std::string& text);

}  // namespace stress
