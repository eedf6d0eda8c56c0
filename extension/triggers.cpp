// Trigger functions of pg_ivmx: the capture trigger on base relations, which
// runs immediate maintenance at the end of every writing statement, and the
// guard trigger on IMMVs, which rejects writes that are not maintenance.
#include <vector>

#include "ivmx/core/error.hpp"
#include "ivmx/pg/guards.hpp"
#include "maintainer.hpp"
#include "pg_util.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(ivmx_capture_trigger);
PG_FUNCTION_INFO_V1(ivmx_guard_trigger);
Datum ivmx_capture_trigger(PG_FUNCTION_ARGS);
Datum ivmx_guard_trigger(PG_FUNCTION_ARGS);
}

namespace ivmx::pg {

namespace {

TriggerData* StatementTriggerData(FunctionCallInfo fcinfo, const char* function) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw core::Error("39P01", std::string(function) + " must be called as a trigger");
    TriggerData* data = reinterpret_cast<TriggerData*>(fcinfo->context);
    if (!TRIGGER_FIRED_FOR_STATEMENT(data->tg_event))
        throw core::Error("39P01", std::string(function) + " must be a statement-level trigger");
    return data;
}

void CaptureStatement(FunctionCallInfo fcinfo) {
    TriggerData* data = StatementTriggerData(fcinfo, "ivmx.capture_trigger");
    const TriggerEvent event = data->tg_event;
    const bool truncate = TRIGGER_FIRED_BY_TRUNCATE(event);
    const ChangeKind kind = TRIGGER_FIRED_BY_INSERT(event)   ? ChangeKind::Insert
                            : TRIGGER_FIRED_BY_DELETE(event) ? ChangeKind::Delete
                                                             : ChangeKind::Update;
    const Oid relid = RelationGetRelid(data->tg_relation);
    SpiConnect();
    WithSafeSearchPath([&] {
        if (!truncate) PgCall([&] { SPI_register_trigger_data(data); });
        std::vector<ViewMaintainer*> views;
        for (const auto& view : MaintainersFor(relid))
            if (view->active()) views.push_back(view.get());
        MaintenanceScope scope;
        for (ViewMaintainer* view : views) {
            if (truncate) view->Refresh(true);
            else view->Apply(kind);
        }
    });
    SpiFinish();
}

void GuardWrite(FunctionCallInfo fcinfo) {
    TriggerData* data = StatementTriggerData(fcinfo, "ivmx.guard_trigger");
    if (MaintenanceScope::Active()) return;
    PgCall([&] {
        ereport(ERROR,
                (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                 errmsg("cannot change incrementally maintainable materialized view \"%s\"",
                        RelationGetRelationName(data->tg_relation)),
                 errdetail("Its contents are maintained by pg_ivmx from its base tables."),
                 errhint("Change the base tables instead, or recompute it with ivmx.refresh_immv().")));
    });
}

}  // namespace

}  // namespace ivmx::pg

Datum ivmx_capture_trigger(PG_FUNCTION_ARGS) {
    return ivmx::pg::EntryGuard([&] {
        ivmx::pg::CaptureStatement(fcinfo);
        return PointerGetDatum(nullptr);
    });
}

Datum ivmx_guard_trigger(PG_FUNCTION_ARGS) {
    return ivmx::pg::EntryGuard([&] {
        ivmx::pg::GuardWrite(fcinfo);
        return PointerGetDatum(nullptr);
    });
}
