// Creates the stress test's database: a fresh database with the extension,
// the base tables (schema.hpp) loaded with some rows, and the IMMVs on top,
// so that their initial population is checked too.
#pragma once

#include <string>

#include "dml.hpp"
#include "history.hpp"
#include "pg.hpp"

namespace stress {

// Drops `dbname` if it exists and creates it empty (connected to "postgres").
void RecreateDatabase(const std::string& dbname);

// Drops `dbname` (after a passing run).
void DropDatabase(const std::string& dbname);

// Creates the extension, tables, initial rows and IMMVs in `conn`'s database,
// recording every statement in `history`.
void CreateSchema(Connection& conn, DmlGenerator& dml, History& history);

}  // namespace stress
