// Privilege checks and row-level security of IMMVs (see extension/access.hpp).
#include "access.hpp"

#include "ivmx/core/error.hpp"
#include "ivmx/core/sql_text.hpp"
#include "ivmx/pg/guards.hpp"
#include "catalog.hpp"
#include "maintainer.hpp"
#include "pg_util.hpp"

namespace ivmx::pg {

void CheckMayMaintainFrom(Oid relid) {
    PgCall([&] {
        if (pg_class_aclcheck(relid, GetUserId(), ACL_TRIGGER) == ACLCHECK_OK) return;
        const char* name = get_rel_name(relid);
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                        errmsg("permission denied to create an IMMV over table \"%s\"", name ? name : "?"),
                        errdetail("An IMMV is maintained inside the transactions that write the tables it reads, "
                                  "like a trigger: it needs the TRIGGER privilege on each of them."),
                        errhint("The table's owner can grant it: GRANT TRIGGER ON %s TO %s.",
                                quote_identifier(name ? name : "?"),
                                quote_identifier(GetUserNameFromId(GetUserId(), false)))));
    });
}

void CheckMayCreateIn(Oid nsp, const std::string& name) {
    PgCall([&] {
        if (isAnyTempNamespace(nsp))
            ereport(ERROR,
                    (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("IMMV \"%s\" cannot be temporary", name.c_str()),
                     errdetail("An IMMV and its maintenance outlive the session that creates it."),
                     errhint("Create it in a permanent schema.")));
        if (pg_namespace_aclcheck(nsp, GetUserId(), ACL_CREATE) != ACLCHECK_OK)
            aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_SCHEMA, get_namespace_name(nsp));
    });
}

Oid LockOwnedRelation(const std::string& name, LOCKMODE lock) {
    return PgCall([&] {
        RangeVar* rv = makeRangeVarFromNameList(stringToQualifiedNameList(name.c_str()));
        return RangeVarGetRelidExtended(rv, lock, 0, RangeVarCallbackOwnsTable, nullptr);
    });
}

void RequireRelationOwner(Oid relid) {
    PgCall([&] {
        if (!compat::OwnsRelation(relid, GetUserId()))
            aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(get_rel_relkind(relid)), get_rel_name(relid));
    });
}

namespace {

// SQL condition: the current user has the privileges of one of the roles
// (an array of role OIDs, ACL_ID_PUBLIC for everyone) a policy applies to.
void AppendRoleCondition(StringInfo out, ArrayType* roles) {
    const Oid* ids = reinterpret_cast<const Oid*>(ARR_DATA_PTR(roles));
    const int n = ArrayGetNItems(ARR_NDIM(roles), ARR_DIMS(roles));
    for (int i = 0; i < n; ++i)
        if (ids[i] == ACL_ID_PUBLIC) {
            appendStringInfoString(out, "true");
            return;
        }
    appendStringInfoChar(out, '(');
    for (int i = 0; i < n; ++i)
        appendStringInfo(out, "%spg_catalog.pg_has_role(%u::pg_catalog.oid, 'USAGE')", i > 0 ? " OR " : "", ids[i]);
    if (n == 0) appendStringInfoString(out, "false");
    appendStringInfoChar(out, ')');
}

// The condition of relid's SELECT policies (row_security_active() false
// or a policy admits the row), in palloc'd memory; adds the columns it
// reads to attrs.
char* PolicyCondition(Relation rel, List* context, Bitmapset** attrs) {
    const Oid relid = RelationGetRelid(rel);
    StringInfoData permissive, restrictive;
    initStringInfo(&permissive);
    initStringInfo(&restrictive);
    ListCell* lc;
    if (rel->rd_rsdesc != nullptr)
        foreach (lc, rel->rd_rsdesc->policies) {
            auto* policy = static_cast<RowSecurityPolicy*>(lfirst(lc));
            if ((policy->polcmd != '*' && policy->polcmd != ACL_SELECT_CHR) || policy->qual == nullptr) continue;
            char* qual = deparse_expression(reinterpret_cast<Node*>(policy->qual), context, false, false);
            pull_varattnos(reinterpret_cast<Node*>(policy->qual), 1, attrs);
            StringInfo out = policy->permissive ? &permissive : &restrictive;
            if (out->len > 0) appendStringInfoString(out, policy->permissive ? " OR " : " AND ");
            // A permissive policy admits rows for its roles; a restrictive
            // one rejects rows for its roles.
            appendStringInfoString(out, policy->permissive ? "(" : "(NOT ");
            AppendRoleCondition(out, policy->roles);
            appendStringInfo(out, policy->permissive ? " AND (%s))" : " OR (%s))", qual);
        }
    // Without a permissive policy that applies, no row is visible.
    return psprintf("(NOT pg_catalog.row_security_active(%u::pg_catalog.oid::pg_catalog.regclass) OR ((%s)%s%s))",
                    relid, permissive.len > 0 ? permissive.data : "false", restrictive.len > 0 ? " AND " : "",
                    restrictive.data);
}

// Builds relid's row filter (see RelationRowFilter), in palloc'd memory:
// returns nullptr when it has none.
char* BuildRowFilter(Oid relid, List** columns) {
    Relation rel = relation_open(relid, AccessShareLock);
    if (!rel->rd_rel->relrowsecurity) {
        relation_close(rel, AccessShareLock);
        return nullptr;
    }
    List* context = deparse_context_for(RelationGetRelationName(rel), relid);
    Bitmapset* attrs = nullptr;
    StringInfoData filter;
    initStringInfo(&filter);
    appendStringInfoString(&filter, PolicyCondition(rel, context, &attrs));
    int member = -1;
    while ((member = bms_next_member(attrs, member)) >= 0) {
        const AttrNumber attnum = member + FirstLowInvalidHeapAttributeNumber;
        if (attnum > 0) *columns = lappend(*columns, get_attname(relid, attnum, false));
    }
    relation_close(rel, AccessShareLock);
    return filter.data;
}

}  // namespace

std::optional<RowFilter> RelationRowFilter(Oid relid) {
    List* columns = NIL;
    char* condition = PgCall([&] { return BuildRowFilter(relid, &columns); });
    if (condition == nullptr) return std::nullopt;
    RowFilter filter{condition, {}};
    ListCell* lc;
    foreach (lc, columns) filter.columns.push_back(static_cast<const char*>(lfirst(lc)));
    return filter;
}

std::string FilteredSource(const std::string& source, Oid relid, const RowFilter& filter) {
    // Aliased as the table, so that policy conditions naming it still resolve.
    const char* name = PgCall([&] { return get_rel_name(relid); });
    if (name == nullptr)
        throw core::Error(core::sqlstate::kInternalError,
                          "relation with OID " + std::to_string(relid) + " does not exist");
    const std::string alias = core::QuoteIdent(name);
    return "(SELECT * FROM " + source + " AS " + alias + " WHERE " + filter.condition + ")";
}

std::string VisibleRows(const std::string& source, Oid relid) {
    if (source.empty()) return source;
    const std::optional<RowFilter> filter = RelationRowFilter(relid);
    return filter ? FilteredSource(source, relid, *filter) : source;
}

namespace {

bool MayReadColumns(Oid relid, Oid role, const std::vector<std::string>& columns, bool whole_rows) {
    return PgCall([&] {
        if (pg_class_aclcheck(relid, role, ACL_SELECT) == ACLCHECK_OK) return true;
        if (whole_rows || columns.empty())
            return pg_attribute_aclcheck_all(relid, role, ACL_SELECT, ACLMASK_ALL) == ACLCHECK_OK;
        for (const auto& column : columns) {
            const AttrNumber attnum = get_attnum(relid, column.c_str());
            if (attnum == InvalidAttrNumber || pg_attribute_aclcheck(relid, attnum, role, ACL_SELECT) != ACLCHECK_OK)
                return false;
        }
        return true;
    });
}

}  // namespace

std::optional<Oid> UnreadableRelation(const core::ViewDefinition& view, Oid role) {
    for (size_t i = 0; i < view.relations.size(); ++i) {
        const auto& rel = view.relations[i];
        if (!MayReadColumns(rel.relation_id, role, rel.columns_read, core::ReadsWholeRows(view, i)))
            return rel.relation_id;
    }
    return std::nullopt;
}

void SuspendImmv(Oid immv) {
    // Writers of the IMMV's tables may get here at once: one at a time
    // updates the catalog row, the others find it done.
    PgCall([&] { LockDatabaseObject(CatalogRelid("immv"), immv, kSuspendLockSubId, ExclusiveLock); });
    const std::optional<ImmvRecord> record = LoadImmv(immv);
    if (record && record->populated) SetImmvPopulated(immv, false);
}

void RaiseOwnerCannotRead(Oid immv, Oid relid) {
    const Oid owner_id = RelationOwner(immv);
    PgCall([&] {
        const char* owner = GetUserNameFromId(owner_id, true);
        ereport(ERROR,
                (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), errmsg("permission denied for table %s", get_rel_name(relid)),
                 errdetail("The owner of IMMV \"%s\"%s%s may not read every column the IMMV reads of it.",
                           get_rel_name(immv), owner ? ", " : "", owner ? owner : ""),
                 errhint("Grant the owner SELECT on the table again, then refresh the IMMV with "
                         "ivmx.refresh_immv().")));
    });
}

}  // namespace ivmx::pg
