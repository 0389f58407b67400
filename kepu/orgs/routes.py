"""Routes (thin): load → 404 → permission → form → operation → render."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import abort, flash, make_response, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import exists, func, or_, select

from ..accounts.models import Grant
from ..accounts.permissions import platform_admin_required
from ..accounts.roles import UNIT_ADMIN
from ..extensions import db
from ..files.storage import accepts_uploads, limit_for
from ..inputs import parse_id, parse_int
from ..workflow import AuditLog
from ..htmx import is_fragment, redirect_to, render
from ..urls import safe_next
from . import bp, channels as ch, operations as ops, regions, widgets
from . import certify, supervisors as sv
from .forms import (ApplyUnitForm, CertImportForm, OrgEditForm, RejectForm,
                    check_org_choice)
from .models import (APP_PENDING, APP_STATUSES, CERTIFICATIONS, ORG_KINDS, ORG_MERGED,
                     ORG_PENDING, ORG_STATUSES, Org, OrgAlias, UnitApplication)
from .search import search_orgs

widgets.register(bp)

IMPORT_MAX_BYTES = 10 * 1024 * 1024
PER_PAGE = 20


# --------------------------------------------------------------------------- regions

@bp.get("/regions", endpoint="regions")
def regions_options():
    """<option>s of the next level: ?province=.. → cities (districts for 直辖市);
    ?city=.. → counties. Province requests also reset the county select (out of band)."""
    prefix = request.args.get("prefix", "region")
    city = request.args.get("city") or request.args.get(f"{prefix}_city")
    province = request.args.get("province") or request.args.get(f"{prefix}_province")
    if "city" in request.args or f"{prefix}_city" in request.args:
        items, placeholder, reset = regions.children(city), "请选择区县", False
    else:
        items, placeholder, reset = regions.children(province), "请选择城市", True
        if regions.is_direct(province):
            placeholder = "请选择区"
    levels = parse_int(request.args.get("levels", "3"), 1, 3) or 3
    return render_template("orgs/_region_options.html", items=items, placeholder=placeholder,
                           reset_county=reset and levels >= 3, prefix=prefix)



# --------------------------------------------------------------------------- autocomplete

def _picker_args():
    field = request.values.get("field", "org_id")
    if not widgets.field_name_ok(field):
        abort(400)
    kinds = widgets.parse_kinds(request.values.get("kinds"))
    allow_add = request.values.get("allow_add", "1") != "0"
    require_active = request.values.get("active_only") == "1"
    return field, kinds, allow_add, require_active


def _category_args():
    """(category_field, category, region prefix) of a 归口单位 picker, or Nones."""
    cf = request.values.get("category_field") or None
    if cf is None:
        return None, None, None
    if not widgets.field_name_ok(cf):
        abort(400)
    region = request.values.get("region") or None
    if region is not None and not widgets.field_name_ok(region):
        abort(400)
    category = request.values.get(cf)
    return cf, (category if category in sv.SUPERVISOR_CATEGORIES else None), region


@bp.get("/autocomplete")
def autocomplete():
    """Matches as <li> options. With ``category_field`` (a 归口单位 picker) only the orgs
    of the chosen category (``<category_field>=市科协`` …), and when none match, the
    other categories' matches and the region's 科协 levels (``region=<prefix>``)."""
    field, kinds, allow_add, require_active = _picker_args()
    cf, category, region = _category_args()
    q = (request.args.get("q") or request.args.get(field + "_q") or "").strip()
    st = {"category_field": None}
    if cf:
        hits = sv.search_supervisors(category, q, current_user) if q else []
        st = widgets.category_state(cf, category, None, q, bool(q) and not hits, region)
        kinds = None
    else:
        hits = search_orgs(q, current_user, kinds, limit=10) if q else []
    if require_active:
        hits = [h for h in hits if h.org.status == "active"]
    st["common"] = widgets.picker_common(field, widgets.kinds_param(kinds), allow_add,
                                         require_active, cf, region)
    resp = make_response(render_template(
        "orgs/_ac_results.html", hits=hits, q=q, field=field, st=st,
        kinds=widgets.kinds_param(kinds), allow_add=allow_add,
        active_only=require_active,
        can_add=allow_add and current_user.is_authenticated and len(q) >= 2))
    resp.vary.add("HX-Request")
    return resp


@bp.get("/pick")
def pick():
    """The picker in its chosen state (?id=..) or, without id, in its search state.
    A 归口单位 picker also takes ``<field>_pick=<category>:<id>`` (one click: category
    and org) and re-renders on a category change."""
    field, kinds, allow_add, require_active = _picker_args()
    cf, category, region = _category_args()
    org = None
    if request.args.get("id"):
        org, error = check_org_choice(request.args.get("id"),
                                      kinds=sv.all_supervisor_kinds() if cf else kinds,
                                      require_active=require_active)
        if error:
            abort(404)
        if cf and not sv.in_category(org, category or ""):
            category = sv.category_of(org)
    resp = make_response(render_template(
        "orgs/_picker.html", field=field, selected_org=org, kinds=kinds,
        allow_add=allow_add, require_active=require_active, category_field=cf,
        category=category, region=region))
    resp.vary.add("HX-Request")
    return resp


@bp.post("/add")
@login_required
def add():
    """Create a pending org ("添加") and select it in the picker."""
    field, kinds, allow_add, require_active = _picker_args()
    if not allow_add:
        abort(400)
    name = request.form.get("name") or request.form.get("add_name") or ""
    kind = request.form.get("kind") or (kinds[0] if kinds and len(kinds) == 1 else None)
    try:
        org, _created = ops.add_pending_org(name, current_user, kind)
    except ops.OrgError as e:
        if is_fragment():
            return render("orgs/_picker.html", status=422, field=field, selected_org=None,
                          kinds=kinds, allow_add=allow_add, error=e.message,
                          require_active=require_active)
        flash(e.message, "error")
        return redirect_to(safe_next(request.args.get("next"), "/"))
    if is_fragment():
        return render("orgs/_picker.html", field=field, selected_org=org, kinds=kinds,
                      allow_add=allow_add, require_active=require_active)
    # Without JavaScript the whole outer form was posted here: send its values back
    # to the page (GET) so that nothing typed is lost, with the new org selected.
    keep = [(k, v) for k, v in request.form.items(multi=True)
            if k not in ("csrf_token", "add_name", field) and "password" not in k
            and not k.startswith(field + "_")]
    keep.append((field, str(org.id)))
    nxt = safe_next(request.args.get("next"), "/")
    sep = "&" if "?" in nxt else "?"
    flash(f"已添加「{org.name}」，待平台审核；您现在即可选择它。", "success")
    return redirect_to(nxt + sep + urlencode(keep))


# --------------------------------------------------------------------------- channels

@bp.get("/channels")
def channels():
    unit_type = request.args.get("unit_type") or None
    if unit_type not in ch.CHANNEL_FOR:
        unit_type = None
    units = ch.channel_units(unit_type) if unit_type else []
    return render("orgs/channels.html", block="results", unit_type=unit_type, units=units,
                  category=ch.CHANNEL_FOR.get(unit_type or ""), mapping=ch.CHANNEL_FOR,
                  counts=ch.channel_counts(), steps=ch.MISSING_CHANNEL_STEPS)


@bp.get("/channels/options")
def channel_options():
    ut_field = request.args.get("unit_type_field", "unit_type")
    ch_field = request.args.get("channel_field", "channel_id")
    for f in (ut_field, ch_field):
        if not f.replace("_", "").isalnum():
            abort(400)
    unit_type = request.args.get(ut_field) or request.args.get("unit_type") or None
    resp = make_response(render_template(
        "orgs/_channel_options.html", unit_type_field=ut_field, channel_field=ch_field,
        unit_type=unit_type, channel_id=request.args.get(ch_field),
        required=request.args.get("required", "1") != "0"))
    resp.vary.add("HX-Request")
    return resp


# --------------------------------------------------------------------------- unit applications

@bp.route("/apply", methods=["GET", "POST"])
@login_required
def apply_unit():
    if request.method == "GET" and request.args:
        form = ApplyUnitForm(formdata=request.args)  # no-JS picker search re-render
    else:
        form = ApplyUnitForm()
    status = 200
    if form.validate_on_submit():
        try:
            ops.apply_unit(current_user, form.org_id.org, form.contact_name.data,
                           form.job_title.data, form.note.data or "")
        except ops.OrgError as e:
            getattr(form, e.field or "org_id").errors = [e.message]
            status = 422
        else:
            flash("申请已提交，请等待平台管理员审核。", "success")
            return redirect_to(url_for("orgs.my_units"))
    elif request.method == "POST":
        status = 422
    if request.method == "GET" and not request.args.get("org_id_search"):
        form.contact_name.data = form.contact_name.data or current_user.real_name or current_user.name
        form.job_title.data = form.job_title.data or current_user.job_title
    return render("orgs/apply.html", form=form, status=status)


@bp.get("/mine")
@login_required
def my_units():
    grants = [g for g in current_user.grants_for(UNIT_ADMIN) if g.org_id]
    units = [g.org for g in grants if g.org is not None]
    units.sort(key=lambda o: o.pinyin)
    apps = list(db.session.scalars(
        select(UnitApplication).where(UnitApplication.user_id == current_user.id)
        .order_by(UnitApplication.created_at.desc(), UnitApplication.id.desc())))
    return render("orgs/mine.html", units=units, apps=apps)


# --------------------------------------------------------------------------- admin: orgs

def _org_filters():
    a = request.args
    return {
        "q": (a.get("q") or "").strip()[:100],
        "kind": a.get("kind") if a.get("kind") in ORG_KINDS else "",
        "status": a.get("status") if a.get("status") in ORG_STATUSES else "",
        "certified": a.get("certified") if a.get("certified") in ("1", "0") else "",
        "source": a.get("source") if a.get("source") in SOURCES else "",
    }


#: 来源 filter of the admin list: generated from the regions (and corrected) or not.
SOURCES = {"generated": "自动生成", "corrected": "自动生成且名称已修正", "manual": "非自动生成"}


@bp.get("/admin/")
@platform_admin_required
def admin_orgs():
    f = _org_filters()
    stmt = select(Org)
    if f["q"]:
        ql = f["q"].lower()
        like = "%" + ops_escape(ql) + "%"
        alias = exists().where(OrgAlias.org_id == Org.id,
                               func.lower(OrgAlias.name).like(like, escape="\\"))
        conds = [func.lower(Org.name).like(like, escape="\\"), alias]
        key = ql.replace(" ", "")
        if key.isascii() and key.isalnum():
            conds += [Org.initials.like("%" + key + "%"), Org.pinyin.like(key + "%")]
            if parse_id(key) is not None:
                conds.append(Org.id == parse_id(key))
        stmt = stmt.where(or_(*conds))
    if f["kind"]:
        stmt = stmt.where(Org.kind == f["kind"])
    if f["status"]:
        stmt = stmt.where(Org.status == f["status"])
    if f["source"] == "generated":
        stmt = stmt.where(Org.generated_key.is_not(None))
    elif f["source"] == "corrected":
        stmt = stmt.where(Org.generated_key.is_not(None), Org.name != Org.generated_name)
    elif f["source"] == "manual":
        stmt = stmt.where(Org.generated_key.is_(None))
    stmt = stmt.order_by((Org.status != ORG_PENDING), Org.kind, Org.pinyin, Org.id)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    pagination = _paginate_orgs(stmt, page, f)
    pending = db.session.scalar(select(func.count(Org.id)).where(Org.status == ORG_PENDING))
    return render("orgs/admin_orgs.html", block="results", pagination=pagination,
                  filters=f, kinds=ORG_KINDS, statuses=ORG_STATUSES, pending_count=pending,
                  sources=SOURCES)


def ops_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class _Page:
    def __init__(self, items, page, per_page, total):
        self.items, self.page, self.per_page, self.total = items, page, per_page, total
        self.pages = max((total + per_page - 1) // per_page, 1)
        self.has_prev, self.has_next = page > 1, page < self.pages
        self.prev_num, self.next_num = page - 1, page + 1


def _paginate_orgs(stmt, page, f):
    if f["certified"]:
        want = f["certified"] == "1"
        # The JSON column is compared in Python so the same code runs on SQLite and
        # PostgreSQL; the admin list is small enough for that.
        all_rows = [o for o in db.session.scalars(stmt) if bool(o.certifications) == want]
        start = (page - 1) * PER_PAGE
        return _Page(all_rows[start:start + PER_PAGE], page, PER_PAGE, len(all_rows))
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(db.session.scalars(stmt.limit(PER_PAGE).offset((page - 1) * PER_PAGE)))
    return _Page(items, page, PER_PAGE, total or 0)



@bp.post("/admin/<int:org_id>/review")
@platform_admin_required
def admin_org_review(org_id: int):
    org = db.get_or_404(Org, org_id)
    action = request.form.get("action")
    error = None
    try:
        if action not in ("approve", "reject"):
            raise ops.OrgError("不支持的操作")
        ops.review_org(org, action, current_user)
    except (ops.OrgError, ops.TransitionError) as e:
        db.session.rollback()
        error = e.message
    if is_fragment():
        return render("orgs/_org_row.html", org=db.session.get(Org, org_id), row_error=error,
                      status=422 if error else 200)
    if error:
        flash(error, "error")
    else:
        flash(f"已{'通过' if action == 'approve' else '驳回'}「{org.name}」。", "success")
    return redirect_to(url_for("orgs.admin_orgs", status=ORG_PENDING))


@bp.route("/admin/<int:org_id>", methods=["GET", "POST"])
@platform_admin_required
def admin_org_edit(org_id: int):
    org = db.get_or_404(Org, org_id)
    nojs_search = request.method == "GET" and any(
        k in request.args for k in ("parent_id_search", "parent_id_change"))
    if nojs_search:  # no-JS parent search: re-render with what the admin typed
        form = OrgEditForm(formdata=request.args)
    else:
        form = OrgEditForm(obj=None if request.method == "POST" else org)
    if request.method == "GET" and not nojs_search:
        p, c, d = regions.split(org.region_code)
        form.region_province.data, form.region_city.data, form.region_county.data = p, c, d
        form.aliases.data = "\n".join(org.alias_names)
        form.certifications.data = list(org.certifications or [])
        form.also_kinds.data = org.also_kinds
        form.parent_id.data = org.parent_id
    status = 200
    region_error = None
    region_code = regions.from_parts(form.region_province.data, form.region_city.data,
                                     form.region_county.data)
    if org.status == ORG_MERGED and request.method == "POST":
        flash("该单位已合并，不能再编辑。", "error")
        return redirect_to(url_for("orgs.admin_org_edit", org_id=org.id))
    if form.validate_on_submit():
        try:
            changes = ops.update_org(
                org, current_user, name=form.name.data, kind=form.kind.data,
                parent=form.parent_id.org, region_code=region_code,
                certifications=form.certifications.data or [],
                aliases=ops.split_aliases(form.aliases.data),
                also_kinds=form.also_kinds.data or [])
        except ops.OrgError as e:
            db.session.rollback()
            org = db.session.get(Org, org_id)
            target = getattr(form, e.field, None) if e.field and e.field != "region" else None
            if target is not None:
                target.errors = list(target.errors) + [e.message]
            elif e.field == "region":
                region_error = e.message
            else:
                form.form_errors.append(e.message)
            status = 422
        else:
            flash("已保存。" if changes else "没有修改。", "success")
            return redirect_to(url_for("orgs.admin_org_edit", org_id=org.id))
    elif request.method == "POST":
        status = 422
    children = list(db.session.scalars(select(Org).where(Org.parent_id == org.id)
                                       .order_by(Org.pinyin).limit(50)))
    history = list(db.session.scalars(
        select(AuditLog).where(AuditLog.entity_type == "org", AuditLog.entity_id == org.id)
        .order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(20)))
    return render("orgs/admin_org_edit.html", form=form, org=org, region_code=region_code,
                  region_error=region_error, children=children, history=history, status=status,
                  merged_into=db.session.get(Org, org.merged_into_id) if org.merged_into_id else None)


@bp.route("/admin/<int:org_id>/merge", methods=["GET", "POST"])
@platform_admin_required
def admin_org_merge(org_id: int):
    org = db.get_or_404(Org, org_id)
    if org.status == ORG_MERGED:
        flash("该单位已合并。", "info")
        return redirect_to(url_for("orgs.admin_org_edit", org_id=org.id))
    error = None
    status = 200
    if request.method == "POST":
        raw = request.form.get("other_pick") or request.form.get("other_id")
        keep = request.form.get("keep", "other")
        other = db.session.get(Org, parse_id(raw)) if parse_id(raw) else None
        if other is None or other.status == ORG_MERGED:
            error = "请选择要合并的另一个单位"
        elif other.id == org.id:
            error = "不能与本单位合并"
        else:
            survivor, duplicate = (other, org) if keep != "this" else (org, other)
            try:
                ops.merge_orgs(duplicate, survivor, current_user,
                               comment=(request.form.get("comment") or "").strip()[:500])
            except ops.OrgError as e:
                db.session.rollback()
                error = e.message
            else:
                flash(f"已将「{duplicate.name}」合并到「{survivor.name}」。", "success")
                return redirect_to(url_for("orgs.admin_org_edit", org_id=survivor.id))
        status = 422
    suggestions = ops.merge_suggestions(org)
    return render("orgs/admin_org_merge.html", org=org, suggestions=suggestions, error=error,
                  status=status, refs=_reference_counts(org))


def _reference_counts(org: Org) -> list[tuple[str, int]]:
    out = []
    for col in ops.org_references():
        n = db.session.scalar(select(func.count()).select_from(col.table).where(col == org.id))
        if n:
            out.append((f"{col.table.name}.{col.name}", n))
    return out


# --------------------------------------------------------------------------- admin: import

ALLOWED_IMPORT = (".xlsx", ".csv")


@bp.route("/admin/import", methods=["GET", "POST"])
@accepts_uploads(lambda: limit_for(max_bytes=IMPORT_MAX_BYTES, max_files=1))
@platform_admin_required
def admin_import():
    result = None
    error = None
    status = 200
    if request.method == "POST":
        f = request.files.get("file")
        filename = (f.filename or "") if f else ""
        if not f or not filename:
            error = "请选择要上传的文件"
        elif not filename.lower().endswith(ALLOWED_IMPORT):
            error = "仅支持 .xlsx 或 .csv 文件"
        else:
            data = f.stream.read(IMPORT_MAX_BYTES + 1)
            if len(data) > IMPORT_MAX_BYTES:
                error = "文件不能超过 10 MB"
            elif not data:
                error = "文件为空"
            else:
                import io

                result = ops.import_orgs(io.BytesIO(data), filename, by=current_user)
        if error:
            status = 422
    return render("orgs/admin_import.html", block="result", result=result, error=error,
                  status=status, headers=ops.TEMPLATE_HEADERS, kinds=ORG_KINDS,
                  certifications=CERTIFICATIONS)


@bp.get("/admin/import/template.xlsx")
@platform_admin_required
def admin_import_template():
    resp = make_response(ops.import_template_xlsx())
    resp.headers["Content-Type"] = (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp.headers["Content-Disposition"] = (
        "attachment; filename=org_import_template.xlsx; "
        "filename*=UTF-8''%E7%BB%84%E7%BB%87%E5%BA%93%E5%AF%BC%E5%85%A5%E6%A8%A1%E6%9D%BF.xlsx")
    return resp


# --------------------------------------------------------------------------- admin: applications

@bp.get("/admin/applications")
@platform_admin_required
def admin_applications():
    st = request.args.get("status", APP_PENDING)
    if st not in APP_STATUSES and st != "all":
        st = APP_PENDING
    q = (request.args.get("q") or "").strip()[:100]
    stmt = select(UnitApplication).join(Org, Org.id == UnitApplication.org_id)
    if st != "all":
        stmt = stmt.where(UnitApplication.status == st)
    if q:
        like = "%" + ops_escape(q.lower()) + "%"
        from ..accounts.models import User

        stmt = stmt.join(User, User.id == UnitApplication.user_id).where(or_(
            func.lower(Org.name).like(like, escape="\\"), User.phone.like(like, escape="\\"),
            func.lower(UnitApplication.contact_name).like(like, escape="\\")))
    stmt = stmt.order_by(UnitApplication.created_at.desc(), UnitApplication.id.desc())
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(db.session.scalars(stmt.limit(PER_PAGE).offset((page - 1) * PER_PAGE)))
    pagination = _Page(items, page, PER_PAGE, total or 0)
    return render("orgs/admin_applications.html", block="results", pagination=pagination,
                  filter_status=st, q=q, statuses=APP_STATUSES, admin_counts=_admin_counts(items))


def _admin_counts(apps) -> dict[int, int]:
    ids = {a.org_id for a in apps}
    if not ids:
        return {}
    rows = db.session.execute(select(Grant.org_id, func.count(Grant.id)).where(
        Grant.org_id.in_(ids), Grant.role == UNIT_ADMIN).group_by(Grant.org_id))
    return {oid: n for oid, n in rows}


def _application_or_404(app_id: int) -> UnitApplication:
    a = db.session.get(UnitApplication, app_id)
    if a is None or not a.can_review(current_user):
        abort(404)
    return a


def _app_row(a: UnitApplication, status: int = 200, **ctx):
    return render("orgs/_application_row.html", a=a, status=status,
                  admin_counts=_admin_counts([a]), **ctx)


@bp.post("/admin/applications/<int:app_id>/approve")
@platform_admin_required
def admin_application_approve(app_id: int):
    a = _application_or_404(app_id)
    try:
        ops.decide_application(a, "approve", current_user)
    except ops.OrgError as e:
        db.session.rollback()
        a = db.session.get(UnitApplication, app_id)
        if is_fragment():
            return _app_row(a, status=422, row_error=e.message)
        flash(e.message, "error")
        return redirect_to(url_for("orgs.admin_applications"))
    if is_fragment():
        return _app_row(a)
    flash(f"已通过 {a.user.display_name} 对「{a.org.name}」的申请。", "success")
    return redirect_to(url_for("orgs.admin_applications"))


@bp.route("/admin/applications/<int:app_id>/reject", methods=["GET", "POST"])
@platform_admin_required
def admin_application_reject(app_id: int):
    a = _application_or_404(app_id)
    form = RejectForm()
    if request.method == "GET":
        if is_fragment():
            return _app_row(a, rejecting=True, form=form)
        return render("orgs/admin_application_reject.html", a=a, form=form)
    if form.validate_on_submit():
        try:
            ops.decide_application(a, "reject", current_user, comment=form.comment.data)
        except ops.OrgError as e:
            db.session.rollback()
            a = db.session.get(UnitApplication, app_id)
            form.comment.errors = [e.message]
        else:
            if is_fragment():
                return _app_row(a)
            flash("已驳回该申请。", "success")
            return redirect_to(url_for("orgs.admin_applications"))
    if is_fragment():
        return _app_row(a, status=422, rejecting=True, form=form)
    return render("orgs/admin_application_reject.html", a=a, form=form, status=422)


@bp.get("/admin/applications/<int:app_id>/row")
@platform_admin_required
def admin_application_row(app_id: int):
    a = _application_or_404(app_id)
    if is_fragment():
        return _app_row(a)
    return redirect_to(url_for("orgs.admin_applications"))


# --------------------------------------------------------------------------- admin: certifications

@bp.route("/admin/certifications", methods=["GET", "POST"])
@accepts_uploads(lambda: limit_for(max_bytes=IMPORT_MAX_BYTES, max_files=1))
@platform_admin_required
def admin_certifications():
    """Import a certification list (示范县 / 创建单位 / 科普教育基地 / 免费开放科技馆)."""
    form = CertImportForm()
    result = None
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            f = form.file.data
            data = f.stream.read(IMPORT_MAX_BYTES + 1)
            if len(data) > IMPORT_MAX_BYTES:
                form.file.errors = ["文件不能超过 10 MB"]
            elif not data:
                form.file.errors = ["文件为空"]
            else:
                import io

                try:
                    result = certify.import_certifications(
                        form.list_key.data, io.BytesIO(data), f.filename,
                        batch=form.batch.data, year=form.year.data, by=current_user,
                        partial=bool(form.partial.data))
                except ops.OrgError as e:
                    getattr(form, {"list": "list_key"}.get(e.field, e.field or "file")
                            ).errors = [e.message]
                    result = None
                else:
                    if result.error:
                        form.file.errors = [result.error]
        if form.errors or (result is not None and not result.committed):
            status = 422
    return render("orgs/admin_certifications.html", form=form, result=result,
                  lists=certify.CERT_LISTS, counts=certify.certification_summary(),
                  status=status)


@bp.get("/admin/certifications/template/<list_key>.xlsx")
@platform_admin_required
def admin_certification_template(list_key: str):
    if list_key not in certify.CERT_LISTS:
        abort(404)
    cert = certify.CERT_LISTS[list_key]
    from urllib.parse import quote

    resp = make_response(certify.template_xlsx(list_key))
    resp.headers["Content-Type"] = (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp.headers["Content-Disposition"] = (
        f"attachment; filename=certification_{list_key}.xlsx; "
        f"filename*=UTF-8''{quote(cert.tag + '导入模板.xlsx')}")
    return resp


# --------------------------------------------------------------------------- admin: 归口 check

@bp.get("/admin/supervisor")
@platform_admin_required
def admin_supervisor_check():
    """Check a 归口单位 choice as the activity form will: the category rule (直辖市),
    the province the activity is reviewed in (from the org's region code, not its
    parent chain), and the higher levels to fall back on (seed 003 一.2)."""
    category = request.args.get("category") or None
    org = None
    raw = request.args.get("supervisor_id")
    if raw and not request.args.get("supervisor_id_change"):
        org, _err = check_org_choice(raw, kinds=sv.all_supervisor_kinds())
    _cat, pick_id = widgets.parse_pick(request.args.get("supervisor_id_pick"))
    if pick_id:
        org, _err = check_org_choice(pick_id, kinds=sv.all_supervisor_kinds())
        category = _cat if org is not None and sv.in_category(org, _cat or "") else (
            sv.category_of(org) if org is not None else category)
    region_code = widgets.region_from_values("region")
    checked = "check" in request.args
    report = None
    if checked:
        province = sv.province_code_of(org, region_code)
        provincial = sv.provincial_org_of(org, region_code)
        report = {
            "error": sv.check_supervisor(category, org),
            "route": ("省级管理员审核后报全国审核" if category in sv.PROVINCIAL_ROUTE
                      else "全国审核" if category in sv.NATIONAL_ROUTE else None),
            "province": regions.name(province) if province else None,
            "provincial": provincial if category in sv.PROVINCIAL_ROUTE else None,
            "from_region": bool(org is not None and org.region_code),
            "chain": _parent_chain(org),
            "higher": sv.higher_levels(org),
        }
    return render("orgs/admin_supervisor.html", org=org, category=category,
                  region_code=region_code, report=report,
                  status=422 if report and report["error"] else 200)


def _parent_chain(org: Org | None) -> list[Org]:
    out, seen = [], set()
    p = org.parent if org is not None else None
    while p is not None and p.id not in seen and len(out) < 6:
        out.append(p)
        seen.add(p.id)
        p = p.parent
    return out
