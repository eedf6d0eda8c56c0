// The only door through which pg_ivmx's C++ code sees PostgreSQL.
//
// Server headers are C; they are wrapped in extern "C" here, and the macros
// that clash with the C++ standard library (PostgreSQL's port layer renames
// snprintf, sprintf, ... and the gettext helpers) are undone afterwards.
// Include standard and Boost headers before this one.
#pragma once

#include <cstdio>
#include <cstring>
#include <string>

extern "C" {
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/catalog.h"
#include "catalog/dependency.h"
#include "catalog/pg_depend.h"
#include "catalog/heap.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "parser/parse_relation.h"
#include "rewrite/rewriteManip.h"
#include "parser/analyze.h"
#include "parser/parse_func.h"
#include "parser/parser.h"
#include "storage/lmgr.h"
#include "storage/lockdefs.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
#include "utils/acl.h"
#include "catalog/pg_constraint.h"
#include "utils/array.h"
#include "nodes/pg_list.h"
#include "commands/event_trigger.h"
#include "utils/fmgroids.h"
#include "access/relation.h"
#include "storage/itemptr.h"
#include "utils/regproc.h"
#include "utils/xid8.h"
#include "catalog/pg_collation.h"
#include "storage/bufmgr.h"
#include "parser/parse_func.h"
#include "catalog/pg_trigger_d.h"
#include "access/heapam.h"
#include "commands/sequence.h"
#include "commands/vacuum.h"
#include "executor/tuptable.h"
#include "utils/tuplestore.h"
#include "tcop/pquery.h"
#include "rewrite/rowsecurity.h"
#include "commands/tablecmds.h"
#include "parser/parsetree.h"
#include "catalog/pg_operator.h"
#include "parser/parse_agg.h"
#include "parser/parse_oper.h"
}

#include "ivmx/pg/compat.hpp"

#undef snprintf
#undef vsnprintf
#undef sprintf
#undef vfprintf
#undef fprintf
#undef printf
#undef strerror
#undef strerror_r
#undef gettext
#undef dgettext
#undef ngettext
#undef dngettext
