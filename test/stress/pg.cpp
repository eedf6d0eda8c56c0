// The libpq wrapper of the stress test (see pg.hpp).
#include "pg.hpp"

namespace stress {

namespace {

void IgnoreNotice(void*, const char*) {}

std::string Field(const PGresult* result, int code) {
    const char* value = PQresultErrorField(result, code);
    return value != nullptr ? value : "";
}

}  // namespace

std::string SqlResult::Summary() const {
    if (ok) return "ok";
    return "ERROR " + sqlstate + ": " + message;
}

Connection::Connection(const std::string& dbname) {
    const char* keys[] = {"dbname", "application_name", "options", nullptr};
    const char* values[] = {dbname.c_str(), "ivmx_stress",
                            "-c statement_timeout=120s -c client_min_messages=warning -c deadlock_timeout=20ms "
                            "-c lc_messages=C",
                            nullptr};
    conn_ = PQconnectdbParams(keys, values, 0);
    if (PQstatus(conn_) != CONNECTION_OK) {
        std::string message = PQerrorMessage(conn_);
        PQfinish(conn_);
        conn_ = nullptr;
        throw DatabaseError("could not connect to database " + dbname + ": " + message);
    }
    PQsetNoticeProcessor(conn_, IgnoreNotice, nullptr);
}

Connection::~Connection() {
    if (conn_ != nullptr) PQfinish(conn_);
}

SqlResult Connection::Collect(PGresult* result) {
    SqlResult out;
    if (result == nullptr) throw DatabaseError(std::string("lost the connection: ") + PQerrorMessage(conn_));
    const ExecStatusType status = PQresultStatus(result);
    out.ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
    if (!out.ok) {
        out.sqlstate = Field(result, PG_DIAG_SQLSTATE);
        out.message = Field(result, PG_DIAG_MESSAGE_PRIMARY);
        out.detail = Field(result, PG_DIAG_MESSAGE_DETAIL);
        out.context = Field(result, PG_DIAG_CONTEXT);
        if (out.message.empty()) out.message = PQresultErrorMessage(result);
    }
    if (status == PGRES_TUPLES_OK) {
        for (int c = 0; c < PQnfields(result); ++c) out.columns.push_back(PQfname(result, c));
        for (int r = 0; r < PQntuples(result); ++r) {
            Row row;
            for (int c = 0; c < PQnfields(result); ++c) {
                if (PQgetisnull(result, r, c))
                    row.emplace_back(std::nullopt);
                else
                    row.emplace_back(PQgetvalue(result, r, c));
            }
            out.rows.push_back(std::move(row));
        }
    }
    PQclear(result);
    if (!out.ok && PQstatus(conn_) != CONNECTION_OK) throw DatabaseError("lost the connection: " + out.Summary());
    return out;
}

SqlResult Connection::Exec(const std::string& sql) {
    if (on_send_) on_send_(sql);
    return Collect(PQexec(conn_, sql.c_str()));
}

SqlResult Connection::Copy(const std::string& copy_sql, const std::vector<std::string>& lines) {
    if (on_send_) on_send_(copy_sql);
    PGresult* start = PQexec(conn_, copy_sql.c_str());
    if (start == nullptr || PQresultStatus(start) != PGRES_COPY_IN) return Collect(start);
    PQclear(start);
    for (const std::string& line : lines) {
        const std::string data = line + "\n";
        if (PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) != 1)
            throw DatabaseError(std::string("COPY data not sent: ") + PQerrorMessage(conn_));
    }
    if (PQputCopyEnd(conn_, nullptr) != 1)
        throw DatabaseError(std::string("COPY end not sent: ") + PQerrorMessage(conn_));
    SqlResult result = Collect(PQgetResult(conn_));
    while (PGresult* extra = PQgetResult(conn_)) PQclear(extra);
    return result;
}

SqlResult Connection::MustExec(const std::string& sql) {
    SqlResult result = Exec(sql);
    if (!result.ok)
        throw DatabaseError(sql + "\n  failed: " + result.Summary(), result.sqlstate, result.detail, result.context);
    return result;
}

std::string Connection::Scalar(const std::string& sql) {
    SqlResult result = MustExec(sql);
    if (result.rows.empty() || result.rows[0].empty() || !result.rows[0][0])
        throw DatabaseError(sql + "\n  returned no value");
    return *result.rows[0][0];
}

bool Connection::InTransaction() const {
    const PGTransactionStatusType status = PQtransactionStatus(conn_);
    return status == PQTRANS_INTRANS || status == PQTRANS_INERROR;
}

std::string Quote(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') out += '\'';
        out += c;
    }
    return out + "'";
}

}  // namespace stress
