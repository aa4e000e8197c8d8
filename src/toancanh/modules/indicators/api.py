"""The indicators API (/api/v1/indicators): catalogue, computed values, ranking, targets, data intake,
submissions and their approval, completeness."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from toancanh.core import tables
from toancanh.core.api.deps import CurrentPrincipal, SessionDep
from toancanh.core.api.schemas import DbId
from toancanh.core.audit import record_by
from toancanh.core.auth.scope import Principal, get_scoped, scoped
from toancanh.core.errors import AppError, BadRequest, Forbidden, NotFound
from toancanh.core.outbox import emit
from toancanh.core.units import Unit, unit_by_code
from toancanh.modules.indicators import catalogue, forecasting, intake, service, submissions
from toancanh.modules.indicators.models import DataElement, Dataset, DataValue, Indicator, Submission, Target
from toancanh.modules.indicators.periods import parse_period
from toancanh.modules.indicators.schemas import ActionIn, ElementIn, IndicatorIn, TargetIn, ValuesIn
from toancanh.modules.indicators.service import APPROVE, MANAGE, READ, SUBMIT

router = APIRouter(prefix="/api/v1/indicators", tags=["indicators"])
CodeQ = Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[A-Z][A-Z0-9_]*$")]
PeriodQ = Annotated[str | None, Query(max_length=10)]
UnitQ = Annotated[str | None, Query(max_length=16)]


# ------------------------------------------------------------------------------------------ helpers


def require_catalogue(principal: Principal) -> None:
    """The catalogue is shared by the whole province: only a province-wide (or global) manager edits it."""
    for g in principal.grants_for(MANAGE):
        if g.domains is None and g.unit_path.count("/") <= 2:
            return
    raise Forbidden(
        "Chỉ quản trị hoặc lãnh đạo cấp tỉnh được sửa danh mục chỉ số",
        "Only a province-wide administrator or leader may edit the indicator catalogue",
    )


def home_unit(db: Any, principal: Principal) -> Unit:
    """The caller's widest readable unit (the province for a province grant, else their commune)."""
    unit = db.scalar(scoped(select(Unit), principal, Unit, READ).order_by(Unit.level, Unit.path).limit(1))
    if unit is None:
        raise NotFound("Không có đơn vị nào trong phạm vi của bạn", "No unit in your scope")
    return unit  # type: ignore[no-any-return]


def readable_unit(db: Any, principal: Principal, code: str | None, domain: str) -> Unit:
    """The unit asked for (or the caller's own), 404 when it is outside the caller's reading scope."""
    unit = home_unit(db, principal) if not code else db.scalar(select(Unit).where(Unit.code == code))
    if unit is None or not principal.can(READ, unit.path, domain):
        raise NotFound("Không tìm thấy đơn vị", "Unit not found")
    return unit


def visible_indicator(db: Any, principal: Principal, code: str) -> Indicator:
    ind = catalogue.indicator_by_code(db, code)
    domains = service.readable_domains(principal)
    if domains is not None and ind.domain not in domains:
        raise NotFound(f"Không có chỉ số mã {code}", f"No indicator with code {code}")
    return ind


def _dataset(db: Any, principal: Principal, code: str) -> Dataset:
    ds = catalogue.dataset_by_code(db, code)
    if not (principal.has(READ) or principal.has(SUBMIT)):
        raise Forbidden()
    return ds


# ------------------------------------------------------------------------------------------ catalogue


@router.get("")
def list_indicators(
    db: SessionDep, principal: CurrentPrincipal, domain: Annotated[str | None, Query(max_length=40)] = None
) -> list[dict[str, Any]]:
    """The catalogue, limited to the domains the caller reads."""
    principal.require(READ)
    return [i.summary() for i in service.visible_indicators(db, principal, domain)]


@router.post("", status_code=201)
def create_indicator(body: IndicatorIn, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    require_catalogue(principal)
    if db.scalar(select(Indicator.id).where(Indicator.code == body.code)) is not None:
        from toancanh.core.errors import Conflict

        raise Conflict(f"Chỉ số {body.code} đã có", f"Indicator {body.code} already exists")
    ind = catalogue.upsert_indicator(db, body.data())
    record_by(db, principal, "indicators.indicator.create", entity_type="indicator", entity_id=ind.id)
    emit(db, "toancanh.indicators.catalogue.changed", {"indicator": ind.code, "change": "created"})
    return ind.summary()


@router.put("/{code}")
def update_indicator(
    code: str, body: IndicatorIn, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    require_catalogue(principal)
    if body.code != code:
        raise BadRequest("Mã trong đường dẫn và nội dung khác nhau", "The code in the path and body differ")
    before = catalogue.indicator_by_code(db, code).summary()
    ind = catalogue.upsert_indicator(db, body.data())
    changes = {k: [before.get(k), v] for k, v in ind.summary().items() if before.get(k) != v}
    record_by(
        db,
        principal,
        "indicators.indicator.update",
        entity_type="indicator",
        entity_id=ind.id,
        changes=changes,
    )
    emit(db, "toancanh.indicators.catalogue.changed", {"indicator": ind.code, "change": "updated"})
    return ind.summary()


@router.get("/elements")
def list_elements(db: SessionDep, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    principal.require(READ)
    domains = service.readable_domains(principal)
    stmt = select(DataElement).order_by(DataElement.domain, DataElement.code)
    if domains is not None:
        stmt = stmt.where(DataElement.domain.in_(sorted(domains)))
    return [e.summary() for e in db.scalars(stmt)]


@router.post("/elements", status_code=201)
def create_element(body: ElementIn, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    require_catalogue(principal)
    if db.scalar(select(DataElement.id).where(DataElement.code == body.code)) is not None:
        from toancanh.core.errors import Conflict

        raise Conflict(f"Phần tử {body.code} đã có", f"Data element {body.code} already exists")
    e = catalogue.upsert_element(db, body.model_dump())
    record_by(db, principal, "indicators.element.create", entity_type="data_element", entity_id=e.id)
    emit(db, "toancanh.indicators.catalogue.changed", {"element": e.code, "change": "created"})
    return e.summary()


# ------------------------------------------------------------------------------------------ figures


@router.get("/ranking")
def ranking(
    db: SessionDep,
    principal: CurrentPrincipal,
    indicator: CodeQ,
    period: PeriodQ = None,
    unit: UnitQ = None,
) -> dict[str, Any]:
    """The child units of `unit` (default: the caller's) ranked on the indicator in the period."""
    principal.require(READ)
    ind = visible_indicator(db, principal, indicator)
    parent = readable_unit(db, principal, unit, ind.domain)
    p = service.period_for(ind, service.parse_or_default(period, submissions.today_local()))
    return {
        "indicator": ind.code,
        "unit_id": parent.id,
        "period": p.code,
        "units": service.ranking(db, ind, parent, p),
    }


@router.post("/targets", status_code=201)
def set_target(body: TargetIn, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Set (or change) the target of an indicator for a unit and period."""
    ind = catalogue.indicator_by_code(db, body.indicator)
    unit = unit_by_code(db, body.unit_code)
    if not principal.can(MANAGE, unit.path, ind.domain):
        raise Forbidden(
            "Bạn không có quyền giao chỉ tiêu cho đơn vị này", "You may not set targets for this unit"
        )
    period = parse_period(body.period)
    row = db.scalar(
        select(Target).where(
            Target.indicator_id == ind.id, Target.unit_id == unit.id, Target.period == period.code
        )
    )
    old = row.value if row else None
    if row is None:
        row = Target(indicator_id=ind.id, unit_id=unit.id, period=period.code, value=body.value)
        db.add(row)
    row.value = body.value
    db.flush()
    record_by(
        db,
        principal,
        "indicators.target.set",
        entity_type="target",
        entity_id=row.id,
        unit_id=unit.id,
        changes={"value": [old, body.value], "indicator": ind.code, "period": period.code},
    )
    emit(
        db,
        "toancanh.indicators.target.set",
        {"indicator": ind.code, "period": period.code, "value": body.value},
        unit_id=unit.id,
        domain=ind.domain,
    )
    return {
        "id": row.id,
        "indicator": ind.code,
        "unit_id": unit.id,
        "period": period.code,
        "value": row.value,
    }


@router.post("/values", status_code=201)
def push_values(
    request: Request, body: ValuesIn, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Values from another system, checked like a file: any error and nothing is written (422)."""
    principal.require(SUBMIT)
    ds = catalogue.dataset_by_code(db, body.dataset)
    problems = tables.Problems()
    records = intake.records_from_batch(body.values, ds, problems)
    clean = intake.check_records(db, principal, ds, records, problems)
    problems.raise_if_any()
    result = intake.write(db, principal, ds, clean, "api")
    if body.submit:
        for sid in result.submissions:
            sub = db.get(Submission, sid)
            assert sub is not None
            submissions.act(db, request.app.state.workflow, sub, "submit", principal)
    return result.as_dict()


@router.get("/data-values")
def list_data_values(
    db: SessionDep,
    principal: CurrentPrincipal,
    element: Annotated[str | None, Query(max_length=64)] = None,
    period: PeriodQ = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> list[dict[str, Any]]:
    """Reported values as they are stored (scoped to the caller's units and domains)."""
    base: Any = (
        select(DataValue, DataElement.code, Unit.code)
        .join(DataElement, DataElement.id == DataValue.data_element_id)
        .join(Unit, Unit.id == DataValue.unit_id)
    )
    stmt = scoped(base, principal, DataValue, READ)
    if element:
        stmt = stmt.where(DataElement.code == element)
    if period:
        stmt = stmt.where(DataValue.period == parse_period(period).code)
    rows = db.execute(stmt.order_by(DataValue.id.desc()).limit(limit)).all()
    return [
        {
            "id": v.id,
            "element": ecode,
            "unit_id": v.unit_id,
            "unit_code": ucode,
            "period": v.period,
            "value": v.value,
            "status": v.status,
            "source": v.source,
            "domain": v.domain,
            "submission_id": v.submission_id,
            "updated_by": v.updated_by,
            "updated_at": v.updated_at.isoformat(),
        }
        for v, ecode, ucode in rows
    ]


# ------------------------------------------------------------------------------------------ datasets


@router.get("/datasets")
def list_datasets(db: SessionDep, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    if not (principal.has(READ) or principal.has(SUBMIT)):
        raise Forbidden()
    return [d.summary() for d in db.scalars(select(Dataset).order_by(Dataset.code))]


@router.get("/datasets/submissions")
def list_submissions(
    db: SessionDep,
    principal: CurrentPrincipal,
    dataset: Annotated[str | None, Query(max_length=64)] = None,
    period: PeriodQ = None,
    state: Annotated[str | None, Query(pattern="^(draft|submitted|approved|returned)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    """Reports of the units in the caller's scope, newest period first."""
    principal.require(READ)
    base: Any = (
        select(Submission, Dataset, Unit)
        .join(Dataset, Dataset.id == Submission.dataset_id)
        .join(Unit, Unit.id == Submission.unit_id)
    )
    stmt = scoped(base, principal, Submission, READ)
    if dataset:
        stmt = stmt.where(Dataset.code == dataset)
    if period:
        stmt = stmt.where(Submission.period == parse_period(period).code)
    if state:
        stmt = stmt.where(Submission.state == state)
    rows = db.execute(stmt.order_by(Submission.period.desc(), Unit.path).limit(limit)).all()
    return [submissions.summary(s, d, u) for s, d, u in rows]


@router.get("/datasets/submissions/{submission_id}")
def get_submission(submission_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    sub = get_scoped(db, principal, Submission, submission_id, READ)
    ds, unit = db.get(Dataset, sub.dataset_id), db.get(Unit, sub.unit_id)
    assert ds is not None
    out = submissions.summary(sub, ds, unit)
    values = db.execute(
        select(DataElement.code, DataValue.value, DataValue.status)
        .join(DataElement, DataElement.id == DataValue.data_element_id)
        .where(DataValue.submission_id == sub.id)
    ).all()
    out["values"] = {code: value for code, value, _ in values}
    out["history"] = [h.summary() for h in _history(db, sub.id)]
    return out


def _history(db: Any, sub_id: int) -> list[Any]:
    from toancanh.core.workflow import CaseHistory

    return list(
        db.scalars(
            select(CaseHistory)
            .where(CaseHistory.case_type == submissions.SUBMISSION.name, CaseHistory.case_id == sub_id)
            .order_by(CaseHistory.id)
        )
    )


@router.post("/datasets/submissions/{submission_id}/{action}")
def act_on_submission(
    request: Request,
    submission_id: DbId,
    action: str,
    db: SessionDep,
    principal: CurrentPrincipal,
    body: ActionIn | None = None,
) -> dict[str, Any]:
    """submit (the unit), approve or return (a leader; return needs a comment)."""
    if action not in ("submit", "approve", "return"):
        raise NotFound()
    sub = get_scoped(db, principal, Submission, submission_id, READ)
    submissions.act(db, request.app.state.workflow, sub, action, principal, (body or ActionIn()).comment)
    ds, unit = db.get(Dataset, sub.dataset_id), db.get(Unit, sub.unit_id)
    assert ds is not None
    return submissions.summary(sub, ds, unit)


@router.get("/datasets/{code}")
def get_dataset(code: str, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    return _dataset(db, principal, code).summary()


@router.get("/datasets/{code}/template.{fmt}")
def template(
    code: str,
    fmt: str,
    db: SessionDep,
    principal: CurrentPrincipal,
    period: PeriodQ = None,
) -> Response:
    """The import template: unit_code, period, one column per data element; pre-filled with the caller's
    reporting units and the period."""
    ds = _dataset(db, principal, code)
    if fmt not in ("xlsx", "csv"):
        raise NotFound()
    p = parse_period(period) if period else service.default_period(submissions.today_local())
    if period and p.type != ds.period_type:
        raise BadRequest("Kỳ không đúng loại của biểu mẫu", "The period does not match the dataset's type")
    if not period:
        from toancanh.modules.indicators.periods import period_of

        p = period_of(p.end, ds.period_type)
    units = submissions.reporting_units(db, principal, ds, SUBMIT if principal.has(SUBMIT) else READ)
    name = f"{ds.code}_{p.code}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        return Response(
            intake.template_csv(ds, units, p.code), media_type="text/csv; charset=utf-8", headers=headers
        )
    elements = catalogue.elements_by_code(db, set(ds.element_codes))
    return Response(
        intake.template_xlsx(ds, elements, units, p.code), media_type=tables.XLSX_MIME, headers=headers
    )


@router.post("/datasets/{code}/import", status_code=201)
def import_file(
    request: Request,
    code: str,
    db: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile, File()],
    errors: Annotated[str | None, Query(pattern="^xlsx$")] = None,
) -> Any:
    """Import an .xlsx or .csv file of the dataset: all or nothing. On errors: 422 with the row-level list,
    or with `?errors=xlsx` the same list as a workbook."""
    principal.require(SUBMIT)
    ds = catalogue.dataset_by_code(db, code)
    limits = tables.Limits.from_settings(request.app.state.settings)
    data = file.file.read(limits.max_bytes + 1)
    try:
        result = intake.import_file(db, principal, ds, file.filename or "", data, limits)
    except AppError as exc:
        if errors == "xlsx" and isinstance(exc.details, dict) and "errors" in exc.details:
            db.rollback()
            return Response(
                intake.export_errors_xlsx(exc.details["errors"]),
                status_code=exc.status,
                media_type=tables.XLSX_MIME,
                headers={"Content-Disposition": f'attachment; filename="loi_{ds.code}.xlsx"'},
            )
        raise
    return JSONResponse(result.as_dict(), status_code=201)


@router.get("/datasets/{code}/completeness")
def completeness(
    code: str, db: SessionDep, principal: CurrentPrincipal, period: PeriodQ = None
) -> dict[str, Any]:
    """Who has reported, on time or late, and who has not (the overdue list)."""
    principal.require(READ)
    ds = catalogue.dataset_by_code(db, code)
    p = _dataset_period(ds, period)
    return submissions.completeness(db, principal, ds, p)


@router.post("/datasets/{code}/reminders")
def remind(code: str, db: SessionDep, principal: CurrentPrincipal, period: PeriodQ = None) -> dict[str, Any]:
    """Send a reminder event to every unit past the deadline without a report."""
    principal.require(APPROVE)
    ds = catalogue.dataset_by_code(db, code)
    p = _dataset_period(ds, period)
    sent = submissions.remind_overdue(db, principal, ds, p)
    return {"dataset": ds.code, "period": p.code, "reminded": [r["unit_code"] for r in sent]}


def _dataset_period(ds: Dataset, period: str | None) -> Any:
    from toancanh.modules.indicators.periods import period_of

    if not period:
        return period_of(submissions.today_local(), ds.period_type)
    p = parse_period(period)
    if p.type != ds.period_type:
        raise BadRequest("Kỳ không đúng loại của biểu mẫu", "The period does not match the dataset's type")
    return p


# ------------------------------------------------------------------------------------------ one indicator


@router.get("/{code}")
def get_indicator(code: str, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    principal.require(READ)
    return visible_indicator(db, principal, code).summary()


@router.get("/{code}/values")
def indicator_values(
    code: str, db: SessionDep, principal: CurrentPrincipal, unit: UnitQ = None, period: PeriodQ = None
) -> dict[str, Any]:
    """The computed value for a unit (its whole subtree) and period, with target, achievement, change on
    the previous period and the trend."""
    principal.require(READ)
    ind = visible_indicator(db, principal, code)
    u = readable_unit(db, principal, unit, ind.domain)
    p = service.period_for(ind, service.parse_or_default(period, submissions.today_local()))
    return {**service.figure(db, ind, u, p).as_dict(), "unit_code": u.code, "unit_name": u.name}


@router.get("/{code}/forecast")
def indicator_forecast(
    code: str,
    db: SessionDep,
    principal: CurrentPrincipal,
    unit: UnitQ = None,
    period: PeriodQ = None,
    history: Annotated[int, Query(ge=6, le=120)] = forecasting.HISTORY,
    horizon: Annotated[int, Query(ge=1, le=24)] = forecasting.HORIZON,
    level: Annotated[int, Query(ge=50, le=99)] = 95,
) -> dict[str, Any]:
    """The value over the `history` periods ending with `period`, the next `horizon` periods forecast with
    their interval, the periods outside the interval (anomalies), the backtest accuracy and an early
    warning when a forecast misses its target."""
    principal.require(READ)
    ind = visible_indicator(db, principal, code)
    u = readable_unit(db, principal, unit, ind.domain)
    p = service.period_for(ind, service.parse_or_default(period, submissions.today_local()))
    out = forecasting.forecast_indicator(db, ind, u, p, history=history, horizon=horizon, level=level)
    return {**out.as_dict(), "unit_code": u.code, "unit_name": u.name}
