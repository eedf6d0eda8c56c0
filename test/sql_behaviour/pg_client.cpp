// The libpq client of the behaviour tests (see pg_client.hpp).
#include "pg_client.hpp"

namespace ivmx::sqlb {

namespace {

// Throws SqlError when res is not a success; clears res then.
void Check(PGresult* res, PGconn* conn, const std::string& sql) {
    const ExecStatusType status = PQresultStatus(res);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return;
    const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    std::string message = res != nullptr ? PQresultErrorMessage(res) : PQerrorMessage(conn);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    PQclear(res);
    throw SqlError(state != nullptr ? state : "?????", message, sql);
}

}  // namespace

Session::Session(const std::string& dbname) {
    const char* keywords[] = {"dbname", "application_name", "fallback_application_name", nullptr};
    const char* values[] = {dbname.c_str(), "ivmx_sql_behaviour", "ivmx_sql_behaviour", nullptr};
    conn_ = PQconnectdbParams(keywords, values, 1);
    if (PQstatus(conn_) != CONNECTION_OK) {
        std::string message = PQerrorMessage(conn_);
        PQfinish(conn_);
        conn_ = nullptr;
        throw std::runtime_error("cannot connect to database \"" + dbname + "\" (PGHOST/PGPORT/PGUSER): " + message);
    }
    // Notices (e.g. of DROP ... IF EXISTS) are not wanted in the test output.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
}

Session::~Session() {
    if (conn_ != nullptr) PQfinish(conn_);
}

void Session::Exec(const std::string& sql) {
    PGresult* res = PQexec(conn_, sql.c_str());
    Check(res, conn_, sql);
    PQclear(res);
}

Rows Session::Query(const std::string& sql, const std::vector<Param>& params) {
    std::vector<const char*> values;
    std::vector<unsigned int> types;
    for (const auto& p : params) {
        values.push_back(p.value ? p.value->c_str() : nullptr);
        types.push_back(p.type);
    }
    PGresult* res = PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), types.data(), values.data(),
                                 nullptr, nullptr, 0);
    Check(res, conn_, sql);
    Rows out;
    for (int c = 0; c < PQnfields(res); ++c) out.columns.push_back(PQfname(res, c));
    for (int r = 0; r < PQntuples(res); ++r) {
        Row row;
        for (int c = 0; c < PQnfields(res); ++c)
            row.push_back(PQgetisnull(res, r, c) ? Value() : Value(PQgetvalue(res, r, c)));
        out.rows.push_back(std::move(row));
    }
    PQclear(res);
    return out;
}

Value Session::Scalar(const std::string& sql, const std::vector<Param>& params) {
    const Rows rows = Query(sql, params);
    if (rows.rows.size() != 1 || rows.rows[0].size() != 1)
        throw std::runtime_error("expected one value from: " + sql + "\n" + Describe(rows));
    return rows.rows[0][0];
}

std::string Literal(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') out += '\'';
        out += c;
    }
    return out + "'";
}

std::string Describe(const Rows& rows, size_t limit) {
    std::string out;
    for (size_t c = 0; c < rows.columns.size(); ++c) out += (c ? " | " : "    ") + rows.columns[c];
    out += "\n";
    for (size_t r = 0; r < rows.rows.size() && r < limit; ++r) {
        out += "    ";
        for (size_t c = 0; c < rows.rows[r].size(); ++c) out += (c ? " | " : "") + rows.rows[r][c].value_or("NULL");
        out += "\n";
    }
    if (rows.rows.size() > limit) out += "    ... " + std::to_string(rows.rows.size() - limit) + " more rows\n";
    return out;
}

}  // namespace ivmx::sqlb
