"""The bare baseline of the review-list benchmark: what listing 20 works with a count
costs with nothing but a DB-API driver and one Jinja template.

A WSGI app (run it under gunicorn like kepu: ``gunicorn -w 2 --pythonpath bench
baseline_app:app``) on the same database, hence the same indexes, as kepu. It answers
the review-list URLs of kepu with the same query arguments (``q``, ``status``, ``sort``,
``order``, ``page``) and lists the same rows in the same order:

- ``/works/unit/``: the non-draft works of the latest works edition whose recommender
  unit is ``BASELINE_UNIT_ORG`` (no login: the unit is fixed by the environment);
- ``/works/admin/``: every non-draft work of that edition, with the unit's name.

Per request: one ``count(*)`` and one ``SELECT … ORDER BY … LIMIT 20 OFFSET …`` of the
displayed columns, then the template. No ORM, no session, no login, no CSRF, no status
counts: the floor under what a framework and its features add.

Environment: ``BASELINE_DATABASE`` (a SQLite file path, or a ``postgresql://`` URL,
then psycopg is used), ``BASELINE_UNIT_ORG`` (org id).
"""
from __future__ import annotations

import os
import threading
from urllib.parse import parse_qs, urlencode

import jinja2

PER_PAGE = 20
LIST_STATES = ("pending", "returned", "recommended", "in_review", "reviewed")
STATE_LABELS = {"pending": "待推荐", "returned": "退回修改", "recommended": "完成推荐",
                "in_review": "专家评审中", "reviewed": "专家已评审"}
SORTS = {"submitted": "w.submitted_at", "updated": "w.updated_at", "title": "w.title",
         "status": "CASE w.status WHEN 'draft' THEN 0 WHEN 'pending' THEN 1 "
                   "WHEN 'returned' THEN 2 WHEN 'recommended' THEN 3 "
                   "WHEN 'in_review' THEN 4 WHEN 'reviewed' THEN 5 ELSE 99 END"}

TEMPLATE = jinja2.Environment(autoescape=True).from_string("""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>作品列表</title></head><body>
<h1>{{ "作品推荐审核" if mode == "unit" else "全部作品" }}</h1>
<p>共 {{ total }} 件作品</p>
<table>
<thead><tr><th>作品名称</th><th>作品类型</th><th>作品分类</th><th>作者/申报单位</th>
{%- if mode == "admin" %}<th>推荐单位</th>{% endif %}<th>提交时间</th><th>状态</th></tr></thead>
<tbody>
{%- for r in rows %}
<tr id="work-row-{{ r[0] }}"><td><a href="/works/{{ r[0] }}/review">{{ r[1] or "（未命名作品）" }}</a></td>
<td>{{ r[2] or "—" }}</td><td>{{ r[3] or "—" }}</td><td>{{ r[4] or "—" }}<br>{{ r[5] or "—" }}</td>
{%- if mode == "admin" %}<td>{{ r[9] or "—" }}</td>{% endif %}
<td>{{ r[6] or "—" }}</td><td>{{ labels.get(r[7], r[7]) }}
{%- if r[7] == "returned" and r[8] %}<br>退回意见：{{ r[8]|truncate(60) }}{% endif %}</td></tr>
{%- endfor %}
</tbody></table>
<nav>{% if page > 1 %}<a href="?{{ link(page - 1) }}">上一页</a>{% endif %}
第 {{ page }} / {{ pages }} 页
{% if page < pages %}<a href="?{{ link(page + 1) }}">下一页</a>{% endif %}</nav>
</body></html>""")

_local = threading.local()
_campaign: dict = {}


def _connect():
    conn = getattr(_local, "conn", None)
    if conn is None:
        target = os.environ["BASELINE_DATABASE"]
        if target.startswith("postgresql"):
            import psycopg
            conn = psycopg.connect(target, autocommit=True)
            _local.pg = True
        else:
            import sqlite3
            conn = sqlite3.connect(target, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=5000")
        _local.conn = conn
    return conn


def _sql(conn, sql: str, params: list):
    if getattr(_local, "pg", False):
        sql = sql.replace("?", "%s")
    cur = conn.execute(sql, params)
    return cur


def _campaign_id(conn) -> int:
    if "id" not in _campaign:
        row = _sql(conn, "SELECT id FROM campaign WHERE kind = 'works' "
                         "ORDER BY year DESC, id DESC LIMIT 1", []).fetchone()
        _campaign["id"] = row[0] if row else -1
    return _campaign["id"]


def _arg(args: dict, key: str, limit: int = 100) -> str:
    return (args.get(key, [""])[0] or "").strip()[:limit]


def list_page(mode: str, args: dict) -> str:
    conn = _connect()
    where = ["w.campaign_id = ?", "w.status != 'draft'"]
    params: list = [_campaign_id(conn)]
    if mode == "unit":
        where.append("w.channel_id = ?")
        params.append(int(os.environ["BASELINE_UNIT_ORG"]))
    q = _arg(args, "q")
    if q:
        like = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append("lower(w.title) LIKE ? ESCAPE '\\'")
        params.append(f"%{like}%")
    status = _arg(args, "status", 20)
    if status in LIST_STATES:
        where.append("w.status = ?")
        params.append(status)
    sort = _arg(args, "sort", 20)
    sort = sort if sort in SORTS else "submitted"
    order = "ASC" if _arg(args, "order", 4) == "asc" else "DESC"
    raw_page = _arg(args, "page", 12)
    page = int(raw_page) if raw_page.isdigit() and int(raw_page) > 0 else 1

    clause = " AND ".join(where)
    total = _sql(conn, f"SELECT count(*) FROM work w WHERE {clause}", params).fetchone()[0]
    pages = max((total + PER_PAGE - 1) // PER_PAGE, 1)
    page = min(page, pages)
    join = " LEFT JOIN org o ON o.id = w.channel_id" if mode == "admin" else ""
    name = "o.name" if mode == "admin" else "NULL"
    rows = _sql(conn, (
        "SELECT w.id, w.title, w.work_type, w.category, w.author_name, w.applicant_unit, "
        f"w.submitted_at, w.status, w.return_comment, {name} FROM work w{join} "
        f"WHERE {clause} ORDER BY {SORTS[sort]} {order}, w.id {order} LIMIT ? OFFSET ?"),
        params + [PER_PAGE, (page - 1) * PER_PAGE]).fetchall()

    def link(n: int) -> str:
        kept = {k: v[0] for k, v in args.items() if k != "page" and v and v[0]}
        return urlencode({**kept, "page": n})

    return TEMPLATE.render(mode=mode, rows=rows, total=total, page=page, pages=pages,
                           labels=STATE_LABELS, link=link)


# --------------------------------------------------------------------------- Science Day
# bench/science_day.py: the public activity list (/science-day/events/ with q,
# province, type, page; the same bigram FTS5 match as kepu for q) and the review lists
# (/science-day/review/province/ of the route BASELINE_SD_ROUTE, /science-day/review/national/),
# the latest science_day edition; one count(*) and one page of rows each.

SD_TEMPLATE = jinja2.Environment(autoescape=True).from_string("""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>活动</title></head><body>
<h1>{{ title }}</h1>
<p>共 <strong>{{ total }}</strong> {{ noun }}</p>
{%- if public %}
<ul>
{%- for r in rows %}
<li id="public-activity-{{ r[0] }}"><a href="/science-day/events/{{ r[0] }}">
{%- if r[6] %}<img src="/science-day/events/{{ r[0] }}/images/{{ r[6] }}?thumb=1" alt="">{% endif %}
<span>{{ r[1] }}</span></a><p>{{ r[2] }} {{ r[3] }}</p><p>{{ r[4] }} 至 {{ r[5] }}</p>
<p>{{ r[7] }}</p></li>
{%- endfor %}
</ul>
{%- else %}
<table><tbody>
{%- for r in rows %}
<tr id="activity-row-{{ r[0] }}"><td><a href="/science-day/review/x/{{ r[0] }}">{{ r[1] }}</a></td>
<td>{{ r[2] }}</td><td>{{ r[3] }}</td><td>{{ r[4] }}</td><td>{{ r[5] }}</td><td>{{ r[6] }}</td></tr>
{%- endfor %}
</tbody></table>
{%- endif %}
<nav>第 {{ page }} / {{ pages }} 页</nav>
</body></html>""")

import re as _re  # noqa: E402

_SD_RUN = _re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[0-9a-z]+")


def _sd_match(q: str) -> str:
    parts = []
    for run in _SD_RUN.findall(q.lower()):
        if run[0].isascii() or len(run) == 1:
            parts.append(f'"{run}"' + ("*" if not run[0].isascii() else ""))
        else:
            parts.append('"' + " ".join(run[i:i + 2] for i in range(len(run) - 1)) + '"')
    return " AND ".join(parts)


def _sd_campaign(conn) -> int:
    if "sd" not in _campaign:
        row = _sql(conn, "SELECT id FROM campaign WHERE kind = 'science_day' "
                         "ORDER BY year DESC, id DESC LIMIT 1", []).fetchone()
        _campaign["sd"] = row[0] if row else -1
    return _campaign["sd"]


def _page_of(args) -> int:
    raw = _arg(args, "page", 12)
    return int(raw) if raw.isdigit() and int(raw) > 0 else 1


def science_day_public(args: dict) -> str:
    conn = _connect()
    where = ["p.campaign_id = ?", "p.listed = 1"]
    params: list = [_sd_campaign(conn)]
    for key, col in (("province", "p.province_code"), ("type", "p.activity_type")):
        if _arg(args, key, 50):
            where.append(f"{col} = ?")
            params.append(_arg(args, key, 50))
    q = _arg(args, "q", 50)
    if q:
        frm = "activity_public_fts CROSS JOIN activity_public p ON p.activity_id = activity_public_fts.rowid"
        where.append("activity_public_fts MATCH ?")
        params.append(_sd_match(q))
        order = "activity_public_fts.rowid DESC"
    else:
        frm, order = "activity_public p", "p.start_at DESC, p.activity_id DESC"
    clause = " AND ".join(where)
    total = _sql(conn, f"SELECT count(*) FROM {frm} WHERE {clause}", params).fetchone()[0]
    pages = max((total + PER_PAGE - 1) // PER_PAGE, 1)
    page = min(_page_of(args), pages)
    rows = _sql(conn, (
        "SELECT p.activity_id, p.name, p.mode, p.activity_type, p.start_at, p.end_at, "
        f"p.poster_file_id, p.host_names FROM {frm} WHERE {clause} ORDER BY {order} "
        "LIMIT ? OFFSET ?"), params + [PER_PAGE, (page - 1) * PER_PAGE]).fetchall()
    return SD_TEMPLATE.render(title="活动列表", total=total, noun="项活动", rows=rows,
                              page=page, pages=pages, public=True)


def science_day_review(mode: str, args: dict) -> str:
    conn = _connect()
    where = ["a.campaign_id = ?", "a.status != 'draft'"]
    params: list = [_sd_campaign(conn)]
    if mode == "province":
        where.append("a.route_province = ?")
        params.append(os.environ.get("BASELINE_SD_ROUTE", "44"))
    clause = " AND ".join(where)
    total = _sql(conn, f"SELECT count(*) FROM activity a WHERE {clause}", params).fetchone()[0]
    pages = max((total + PER_PAGE - 1) // PER_PAGE, 1)
    page = min(_page_of(args), pages)
    rows = _sql(conn, (
        "SELECT a.id, a.name, a.filer_unit, a.region_code, a.submitted_at, a.status "
        f"FROM activity a WHERE {clause} ORDER BY a.submitted_at DESC, a.id DESC "
        "LIMIT ? OFFSET ?"), params + [PER_PAGE, (page - 1) * PER_PAGE]).fetchall()
    return SD_TEMPLATE.render(title="活动管理", total=total, noun="个", rows=rows, page=page,
                              pages=pages, public=False)


SD_PATHS = {"/science-day/events/": lambda a: science_day_public(a),
            "/science-day/review/province/": lambda a: science_day_review("province", a),
            "/science-day/review/national/": lambda a: science_day_review("national", a)}


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/healthz":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    if path in SD_PATHS:
        body = SD_PATHS[path](parse_qs(environ.get("QUERY_STRING", ""))).encode()
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    mode = {"/works/unit/": "unit", "/works/admin/": "admin"}.get(path)
    if mode is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    args = parse_qs(environ.get("QUERY_STRING", ""))
    body = list_page(mode, args).encode()
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]
