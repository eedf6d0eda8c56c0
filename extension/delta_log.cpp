// Delta logs of deferred maintenance (see extension/delta_log.hpp).
#include "delta_log.hpp"

#include <algorithm>

#include "access.hpp"
#include "catalog.hpp"
#include "ivmx/core/error.hpp"
#include "ivmx/core/sql_text.hpp"
#include "ivmx/pg/guards.hpp"
#include "pg_util.hpp"

namespace ivmx::pg {

namespace {

constexpr int kBookkeepingColumns = 4;  // __ivm_xid, __ivm_sign, __ivm_time, __ivm_seq

std::string LogName(Oid relid) {
    return "delta_" + std::to_string(relid);
}

bool HasDeferredReader(Oid relid) {
    return !DeferredImmvsReading(relid).empty();
}

// Columns of relid (not dropped) that the log also has.
std::vector<std::string> SharedColumns(Oid base_relid, Oid log_relid) {
    std::vector<std::string> base = AttributeNames(base_relid);
    std::vector<std::string> logged = LoggedColumns(log_relid);
    std::vector<std::string> shared;
    for (const auto& c : logged)
        if (std::find(base.begin(), base.end(), c) != base.end()) shared.push_back(c);
    return shared;
}

std::string LogInsertSql(Oid base_relid, Oid log_relid, ChangeKind kind) {
    std::vector<std::string> columns;
    for (const auto& c : SharedColumns(base_relid, log_relid)) columns.push_back(core::QuoteIdent(c));
    const std::string list = core::Join(columns, ", ");
    const std::string log = core::QuoteQualified(RelationName(log_relid));
    auto side = [&](const char* table, int sign) {
        return "SELECT pg_current_xact_id(), " + std::to_string(sign) + ", now(), " + list + " FROM " +
               core::QuoteIdent(table);
    };
    std::string select;
    switch (kind) {
        case ChangeKind::Insert:
            select = side(kNewTableName, 1);
            break;
        case ChangeKind::Delete:
            select = side(kOldTableName, -1);
            break;
        case ChangeKind::Update:
        case ChangeKind::Netted:
            select = side(kNewTableName, 1) + " UNION ALL " + side(kOldTableName, -1);
            break;
    }
    return "INSERT INTO " + log + " (__ivm_xid, __ivm_sign, __ivm_time, " + list + ") " + select;
}

}  // namespace

// Column definitions ("name" type [COLLATE ...]) of relid's live
// attributes, without constraints: a log row only records values.
std::vector<std::pair<std::string, std::string>> ColumnDefinitions(Oid relid) {
    // Inside the guard: a List alternating palloc'd names and types.
    List* found = PgCall([&] {
        List* columns = NIL;
        Relation rel = relation_open(relid, AccessShareLock);
        TupleDesc desc = RelationGetDescr(rel);
        for (int i = 0; i < desc->natts; ++i) {
            Form_pg_attribute att = TupleDescAttr(desc, i);
            if (att->attisdropped) continue;
            char* type = format_type_extended(att->atttypid, att->atttypmod,
                                              FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY);
            if (OidIsValid(att->attcollation) && att->attcollation != DEFAULT_COLLATION_OID)
                type = psprintf("%s COLLATE %s", type, generate_collation_name(att->attcollation));
            columns = lappend(columns, pstrdup(NameStr(att->attname)));
            columns = lappend(columns, type);
        }
        relation_close(rel, AccessShareLock);
        return columns;
    });
    std::vector<std::pair<std::string, std::string>> columns;
    for (int i = 0; i + 1 < list_length(found); i += 2)
        columns.emplace_back(static_cast<const char*>(list_nth(found, i)),
                             static_cast<const char*>(list_nth(found, i + 1)));
    list_free_deep(found);
    return columns;
}

namespace {

// The columns of relid that its log must record: those its deferred
// readers (and `extra`, a reader not in the catalog yet) read; all of them
// for a reader of whole rows (a join tree, a whole-row reference).
struct LogNeeds {
    bool all = false;
    std::vector<std::string> columns;

    void Add(const core::ViewDefinition& view, Oid relid) {
        for (size_t i = 0; i < view.relations.size(); ++i) {
            if (view.relations[i].relation_id != relid) continue;
            all |= core::ReadsWholeRows(view, i);
            for (const auto& c : view.relations[i].columns_read)
                if (std::find(columns.begin(), columns.end(), c) == columns.end()) columns.push_back(c);
        }
    }
    bool Wants(const std::string& column) const {
        return all || std::find(columns.begin(), columns.end(), column) != columns.end();
    }
};

LogNeeds NeedsOf(Oid relid, const core::ViewDefinition* extra) {
    LogNeeds needs;
    if (extra != nullptr) needs.Add(*extra, relid);
    for (Oid immv : DeferredImmvsReading(relid)) needs.Add(LoadMaintainer(RequireImmv(immv))->definition(), relid);
    // The columns its row security policies read: a refresh filters the
    // logged rows with them (a policy created later, on a column the log
    // lacks, makes refreshes recompute instead).
    if (const auto filter = RelationRowFilter(relid))
        for (const auto& c : filter->columns)
            if (std::find(needs.columns.begin(), needs.columns.end(), c) == needs.columns.end())
                needs.columns.push_back(c);
    return needs;
}

void SyncLog(Oid relid, Oid log, const LogNeeds& needs) {
    const auto base = ColumnDefinitions(relid);
    const auto logged = ColumnDefinitions(log);
    const std::string name = core::QuoteQualified(RelationName(log));
    auto type_in = [](const std::vector<std::pair<std::string, std::string>>& columns, const std::string& column) {
        for (const auto& [c, t] : columns)
            if (c == column) return t;
        return std::string();
    };
    std::vector<std::string> changes;
    for (const auto& [column, type] : logged) {
        if (column.rfind("__ivm_", 0) == 0) continue;
        const std::string now = type_in(base, column);
        if (now.empty())
            changes.push_back("DROP COLUMN " + core::QuoteIdent(column));
        else if (now != type)  // read by no IMMV (else the change was refused)
            changes.push_back("ALTER COLUMN " + core::QuoteIdent(column) + " TYPE " + now + " USING NULL");
    }
    for (const auto& [column, type] : base)
        if (needs.Wants(column) && type_in(logged, column).empty())
            changes.push_back("ADD COLUMN " + core::QuoteIdent(column) + " " + type);
    if (changes.empty()) return;
    AsRole(CatalogOwner(), [&] { SpiExecute("ALTER TABLE " + name + " " + core::Join(changes, ", ")); });
}

}  // namespace

Oid EnsureDeltaLog(Oid relid, const core::ViewDefinition& reader) {
    const LogNeeds needs = NeedsOf(relid, &reader);
    if (auto existing = DeltaLogOf(relid)) {
        SyncLog(relid, *existing, needs);
        return *existing;
    }
    const std::string log = "ivmx." + core::QuoteIdent(LogName(relid));
    std::vector<std::string> columns{"__ivm_xid xid8 NOT NULL", "__ivm_sign smallint NOT NULL",
                                     "__ivm_time timestamptz NOT NULL",
                                     "__ivm_seq bigint NOT NULL DEFAULT nextval('ivmx.delta_seq')"};
    for (const auto& [column, type] : ColumnDefinitions(relid))
        if (needs.Wants(column)) columns.push_back(core::QuoteIdent(column) + " " + type);
    AsRole(CatalogOwner(), [&] {
        SpiExecute("CREATE TABLE " + log + " (" + core::Join(columns, ", ") + ")");
        // A member of the extension: pg_dump leaves it (and its rows) out.
        SpiExecute("ALTER EXTENSION pg_ivmx ADD TABLE " + log);
    });
    const std::string name = LogName(relid);
    const Oid created = PgCall([&] { return CatalogRelid(name.c_str()); });
    RegisterDeltaLog(relid, created);
    PgCall([] { CommandCounterIncrement(); });
    return created;
}

void FollowBaseColumnRename(Oid relid, const std::string& column, const std::string& new_name) {
    auto log = DeltaLogOf(relid);
    if (!log) return;
    const std::vector<std::string> logged = LoggedColumns(*log);
    if (std::find(logged.begin(), logged.end(), column) == logged.end() ||
        std::find(logged.begin(), logged.end(), new_name) != logged.end())
        return;
    const std::string name = core::QuoteQualified(RelationName(*log));
    AsRole(CatalogOwner(), [&] {
        SpiExecute("ALTER TABLE " + name + " RENAME COLUMN " + core::QuoteIdent(column) + " TO " +
                   core::QuoteIdent(new_name));
    });
}

void SyncDeltaLog(Oid relid) {
    if (auto log = DeltaLogOf(relid)) SyncLog(relid, *log, NeedsOf(relid, nullptr));
}

void DropDeltaLogIfUnused(Oid relid) {
    // A dropped relation has no readers left (they were dropped with it).
    const bool exists = PgCall([&] { return SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)); });
    if (exists && HasDeferredReader(relid)) return;
    auto log = DeltaLogOf(relid);
    if (!log) return;
    const std::string name = core::QuoteQualified(RelationName(*log));
    UnregisterDeltaLog(relid);
    AsRole(CatalogOwner(), [&] {
        SpiExecute("ALTER EXTENSION pg_ivmx DROP TABLE " + name);
        SpiExecute("DROP TABLE " + name);
    });
    PgCall([] { CommandCounterIncrement(); });
}

namespace {

// Whether two values of this column that are equal are also the same value
// in every respect a view can observe (its text output, its functions): true
// for integers, text in a deterministic collation, timestamps and the like;
// false for numeric (1.0 = 1.00), floats (-0 = 0), intervals, bpchar without
// a length (trailing blanks), and types without a hashable equality.
bool EqualityIsIdentity(Form_pg_attribute att) {
    switch (att->atttypid) {
        case BOOLOID:
        case CHAROID:
        case INT2OID:
        case INT4OID:
        case INT8OID:
        case OIDOID:
        case DATEOID:
        case TIMEOID:
        case TIMESTAMPOID:
        case TIMESTAMPTZOID:
        case UUIDOID:
        case BYTEAOID:
        case NAMEOID:
            return true;
        case TEXTOID:
        case VARCHAROID:
            return !OidIsValid(att->attcollation) || get_collation_isdeterministic(att->attcollation);
        case BPCHAROID:
            return att->atttypmod >= 0 &&
                   (!OidIsValid(att->attcollation) || get_collation_isdeterministic(att->attcollation));
        default:
            return type_is_enum(att->atttypid);
    }
}

}  // namespace

std::vector<LoggedColumn> DescribeLoggedColumns(Oid log_relid) {
    // Inside the guard: palloc'd arrays, copied after it.
    struct Described {
        char** names;
        bool* equal_by_value;
        int count;
    };
    const Described found = PgCall([&] {
        Relation rel = relation_open(log_relid, AccessShareLock);
        TupleDesc desc = RelationGetDescr(rel);
        Described columns{static_cast<char**>(palloc(sizeof(char*) * Max(desc->natts, 1))),
                          static_cast<bool*>(palloc(sizeof(bool) * Max(desc->natts, 1))), 0};
        int bookkeeping = kBookkeepingColumns;
        for (int i = 0; i < desc->natts; ++i) {
            Form_pg_attribute att = TupleDescAttr(desc, i);
            if (att->attisdropped || bookkeeping-- > 0) continue;
            columns.names[columns.count] = pstrdup(NameStr(att->attname));
            columns.equal_by_value[columns.count++] = EqualityIsIdentity(att);
        }
        relation_close(rel, AccessShareLock);
        return columns;
    });
    std::vector<LoggedColumn> columns;
    for (int i = 0; i < found.count; ++i) columns.push_back({found.names[i], found.equal_by_value[i]});
    for (int i = 0; i < found.count; ++i) pfree(found.names[i]);
    pfree(found.names);
    pfree(found.equal_by_value);
    return columns;
}

std::vector<std::string> LoggedColumns(Oid log_relid) {
    std::vector<std::string> names;
    for (const auto& c : DescribeLoggedColumns(log_relid)) names.push_back(c.name);
    return names;
}

DeltaLogWriter::DeltaLogWriter(Oid base_relid, Oid log_relid)
    : base_relid_(base_relid),
      log_relid_(log_relid),
      owner_(RelationOwner(log_relid)),
      sequence_(PgCall([] { return CatalogRelid("delta_seq"); })) {}

DeltaLogWriter::~DeltaLogWriter() {
    for (SPIPlanPtr plan : plans_)
        if (plan != nullptr) SPI_freeplan(plan);
}

namespace {

// For each attribute of the log, the index of the base attribute its value
// comes from, or -1 (a bookkeeping column, dropped in the log, or not in the
// base table: NULL). Empty when the log cannot take the base rows' values as
// they are: a column of another type, unexpected bookkeeping columns, or an
// index (which a heap insert would not maintain).
std::vector<int> DirectColumnMap(TupleDesc base, Relation log) {
    static const char* const kBookkeeping[kBookkeepingColumns] = {"__ivm_xid", "__ivm_sign", "__ivm_time", "__ivm_seq"};
    TupleDesc desc = RelationGetDescr(log);
    if (log->rd_rel->relhasindex || desc->natts < kBookkeepingColumns) return {};
    std::vector<int> map(desc->natts, -1);
    for (int i = 0; i < desc->natts; ++i) {
        Form_pg_attribute attr = TupleDescAttr(desc, i);
        if (i < kBookkeepingColumns) {
            if (attr->attisdropped || strcmp(NameStr(attr->attname), kBookkeeping[i]) != 0) return {};
            continue;
        }
        if (attr->attisdropped) continue;
        for (int j = 0; j < base->natts; ++j) {
            Form_pg_attribute from = TupleDescAttr(base, j);
            if (from->attisdropped || strcmp(NameStr(from->attname), NameStr(attr->attname)) != 0) continue;
            if (from->atttypid != attr->atttypid) return {};
            map[i] = j;
            break;
        }
    }
    return map;
}

// Log rows are inserted this many at a time (heap_multi_insert: one WAL
// record and one buffer lock per page rather than per row). The scheduler's
// refreshes log thousands of rows per statement for the IMMVs that read
// theirs; a writer's single-row UPDATE logs two.
constexpr size_t kLogInsertBatch = 1000;

}  // namespace

void DeltaLogWriter::Write(ChangeKind kind, TriggerData* data) {
    Write(kind, RelationGetDescr(data->tg_relation), kind != ChangeKind::Delete ? data->tg_newtable : nullptr,
          kind != ChangeKind::Insert ? data->tg_oldtable : nullptr, RelationGetRelid(data->tg_relation) == base_relid_);
}

void DeltaLogWriter::Write(ChangeKind kind, TupleDesc base_desc, Tuplestorestate* inserted, Tuplestorestate* deleted,
                           bool base_columns) {
    Relation log = PgCall([&] { return table_open(log_relid_, RowExclusiveLock); });
    const TupleDesc log_desc = RelationGetDescr(log);
    const std::vector<int> map = DirectColumnMap(base_desc, log);
    if (map.empty()) {
        PgCall([&] { table_close(log, NoLock); });
        WriteWithSql(kind, base_columns);
        return;
    }
    PgCall([&] {
        // Log rows waiting for their insert: slots in the statement's memory
        // context (dropped at the end, or with it), made as needed.
        auto** slots = static_cast<TupleTableSlot**>(palloc(sizeof(TupleTableSlot*) * kLogInsertBatch));
        size_t made = 0;
        size_t used = 0;
        const Datum xid = FullTransactionIdGetDatum(GetTopFullTransactionId());
        const Datum started = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
        const CommandId cid = GetCurrentCommandId(true);
        auto flush = [&] {
            if (used > 0) heap_multi_insert(log, slots, static_cast<int>(used), cid, 0, nullptr);
            used = 0;
        };
        TupleTableSlot* row = MakeSingleTupleTableSlot(base_desc, &TTSOpsMinimalTuple);
        for (int side = 0; side < 2; ++side) {
            Tuplestorestate* rows = side == 0 ? inserted : deleted;
            if (rows == nullptr) continue;
            // A read pointer of our own: the triggers and maintenance
            // statements after us read the same rows.
            const int pointer = tuplestore_alloc_read_pointer(rows, EXEC_FLAG_REWIND);
            tuplestore_select_read_pointer(rows, pointer);
            tuplestore_rescan(rows);
            while (tuplestore_gettupleslot(rows, true, false, row)) {
                slot_getallattrs(row);
                if (used == made) slots[made++] = MakeSingleTupleTableSlot(log_desc, &TTSOpsVirtual);
                TupleTableSlot* slot = slots[used];
                ExecClearTuple(slot);
                slot->tts_values[0] = xid;
                slot->tts_values[1] = Int16GetDatum(side == 0 ? 1 : -1);
                slot->tts_values[2] = started;
                slot->tts_values[3] = Int64GetDatum(nextval_internal(sequence_, false));
                for (int i = 0; i < kBookkeepingColumns; ++i) slot->tts_isnull[i] = false;
                for (int i = kBookkeepingColumns; i < log_desc->natts; ++i) {
                    slot->tts_isnull[i] = map[i] < 0 || row->tts_isnull[map[i]];
                    slot->tts_values[i] = slot->tts_isnull[i] ? Datum(0) : row->tts_values[map[i]];
                }
                ExecStoreVirtualTuple(slot);
                // Its values point into the tuplestore's current row: copy.
                ExecMaterializeSlot(slot);
                if (++used == kLogInsertBatch) flush();
            }
            tuplestore_select_read_pointer(rows, 0);
        }
        flush();
        for (size_t i = 0; i < made; ++i) ExecDropSingleTupleTableSlot(slots[i]);
        pfree(slots);
        ExecDropSingleTupleTableSlot(row);
        table_close(log, NoLock);  // locked until the transaction ends
    });
}

void DeltaLogWriter::WriteWithSql(ChangeKind kind, bool keep_plan) {
    if (!keep_plan) {
        // Planned for these rows' columns only.
        const std::string sql = LogInsertSql(base_relid_, log_relid_, kind);
        AsRole(owner_, [&] {
            PgCall([&] {
                int rc = SPI_execute(sql.c_str(), false, 0);
                if (rc < 0) elog(ERROR, "could not write the delta log: %s", SPI_result_code_string(rc));
            });
        });
        return;
    }
    SPIPlanPtr& plan = plans_[static_cast<size_t>(kind)];
    if (plan == nullptr) {
        const std::string sql = LogInsertSql(base_relid_, log_relid_, kind);
        plan = PgCall([&] {
            SPIPlanPtr p = SPI_prepare(sql.c_str(), 0, nullptr);
            if (p == nullptr) elog(ERROR, "could not prepare delta log statement: %s", sql.c_str());
            SPI_keepplan(p);
            return p;
        });
    }
    AsRole(owner_, [&] {
        PgCall([&] {
            int rc = SPI_execute_plan(plan, nullptr, nullptr, false, 0);
            if (rc < 0) elog(ERROR, "could not write the delta log: %s", SPI_result_code_string(rc));
        });
    });
}

}  // namespace ivmx::pg
