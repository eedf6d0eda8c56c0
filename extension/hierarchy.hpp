// Partitioned tables and inheritance parents as base relations of IMMVs.
//
// The rows of a partitioned table or of an inheritance parent are its own
// and its descendants' (partitions or children, at any depth). A statement
// fires the statement-level triggers of the table it names only, with
// transition tables that hold the rows it changed in that table and every
// descendant (in the named table's columns). So a base relation's changes
// are captured on every member of its line (CaptureLine): its ancestors
// (a statement naming the parent of a partition an IMMV reads changes the
// partition's rows), itself and its descendants (a statement naming a
// partition changes its parent's rows). The capture trigger of the named
// table maintains the IMMVs of every base in its line (ServedRelations);
// the rows captured on an ancestor of a base are filtered by the base's
// partition constraint as it is when they are captured
// (FilteredForPartition: a partition attached, detached or created next to a
// default partition later changes it, not what the rows were).
//
// DDL that moves rows into or out of a base's line is a change of the base:
// ATTACH PARTITION and INHERIT insert the rows of the table attached;
// DETACH PARTITION, NO INHERIT and DROP TABLE of a partition delete them.
// (A DETACH ... CONCURRENTLY deletes them once the detach is done.)
#pragma once

#include <vector>

#include "ivmx/pg/postgres.hpp"

namespace ivmx::pg {

// relid's parents, their parents and so on (pg_inherits), nearest first,
// each once.
std::vector<Oid> Ancestors(Oid relid);

// relid's partitions or inheritance children at every level.
std::vector<Oid> Descendants(Oid relid);

// The relations whose statements can change relid's rows: its ancestors,
// itself and its descendants.
std::vector<Oid> CaptureLine(Oid relid);

// The base relations of IMMVs among CaptureLine(fired), fired first when it
// is one: whose IMMVs a statement naming `fired` may change; and those of
// them below it (its partitions, at any depth), for which the rows captured
// on it are filtered (FilteredForPartition).
struct ServedBases {
    std::vector<Oid> all;
    std::vector<Oid> below;
};
ServedBases ServedRelations(Oid fired);

// The rows of `rows` (in the columns of `from`: a table partition is a
// partition of) that belong to `partition` now (its partition constraint
// holds, as PostgreSQL checks it: NULL passes), in its columns; null for
// null.
Tuplestorestate* FilteredForPartition(Tuplestorestate* rows, TupleDesc from, Oid partition);

// Puts capture triggers on exactly the members of relid's hierarchy (every
// table sharing a root with it) that serve a base relation: creates the
// missing ones, drops those no base needs any more, and tells every backend
// to reload the maintenance of each member. For a relation outside any
// hierarchy: its own triggers only.
void SyncHierarchyCapture(Oid relid);

// Called by the ProcessUtility hook around a statement: BeforeHierarchyDdl
// records the rows of tables dropped out of a base's line (DROP TABLE)
// while they are still there, and the ancestors of the tables whose parents
// the statement changes (ATTACH / DETACH PARTITION, [NO] INHERIT);
// AfterHierarchyDdl puts the triggers where the new hierarchy needs them,
// and records the rows of those tables as inserted into the bases they
// joined and deleted from those they left (also for CREATE TABLE ...
// PARTITION OF / INHERITS).
// A relation whose parents a statement changes, and its ancestors before.
struct HierarchyMove {
    Oid relid;
    std::vector<Oid> before;
};
struct HierarchyDdlState {
    std::vector<HierarchyMove> moves;
};
HierarchyDdlState BeforeHierarchyDdl(Node* parsetree);
void AfterHierarchyDdl(Node* parsetree, const HierarchyDdlState& state);

}  // namespace ivmx::pg
