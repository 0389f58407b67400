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


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/healthz":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    mode = {"/works/unit/": "unit", "/works/admin/": "admin"}.get(path)
    if mode is None:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    args = parse_qs(environ.get("QUERY_STRING", ""))
    body = list_page(mode, args).encode()
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]
