// Database setup of the stress test (see setup.hpp).
#include "setup.hpp"

namespace stress {

namespace {

const int kInitialRowsPerTable = 40;

void Run(Connection& conn, History& history, const std::string& sql) {
    history.Record(0, sql + ";", "setup");
    conn.MustExec(sql);
}

}  // namespace

void RecreateDatabase(const std::string& dbname) {
    Connection admin("postgres");
    admin.MustExec("DROP DATABASE IF EXISTS " + dbname + " WITH (FORCE)");
    admin.MustExec("CREATE DATABASE " + dbname + " TEMPLATE template0");
}

void DropDatabase(const std::string& dbname) {
    Connection admin("postgres");
    admin.MustExec("DROP DATABASE IF EXISTS " + dbname + " WITH (FORCE)");
}

void CreateSchema(Connection& conn, DmlGenerator& dml, History& history) {
    Run(conn, history, "CREATE EXTENSION pg_ivmx");
    for (const Table& table : Tables()) Run(conn, history, table.CreateSql());
    for (const std::string& sql : TableTriggersSql()) Run(conn, history, sql);
    for (const Table& table : Tables())
        for (int loaded = 0; loaded < kInitialRowsPerTable; loaded += 8) Run(conn, history, dml.Insert(table, 8).sql);
    for (const View& view : Views()) Run(conn, history, view.CreateSql());
}

}  // namespace stress
