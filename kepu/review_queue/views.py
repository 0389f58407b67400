"""Route bodies shared by every review list (works, cases, Science Day).

A campaign keeps its own URL map and, in each route, loads the object (404 outside
the viewer's scope), then hands over to a ``QueueViews``::

    UNIT_VIEWS = QueueViews(
        UNIT_QUEUE,
        list_template="works/review_list.html",     # blocks "results" and "summary"
        row_template="works/_review_row.html",      # block "row": one <tr>
        detail_template="works/review_detail.html", # block "review": the decision panel
        context=_unit_context,                      # (obj or None) -> QueueContext
        detail_context=_detail_ctx,                 # (obj, **extra) -> template context
        page_context=_page_extra,                   # (QueuePage) -> extra (quota meter …)
        operations={"recommend": ops.recommend, "return": ops.return_work, ...},
        notices={"recommend": "已推荐作品《{title}》。", ...},
        title=lambda w: w.display_title,
    )

    @bp.post("/<int:work_id>/recommend")
    def recommend(work_id):
        return views_for_request().decide(_reviewable_or_404(work_id), "recommend")

Forms posted from a row or the detail panel carry ``view`` ("row" or "detail"), the
list's query string ``qs`` (so the answer keeps the reviewer's search, filters, sort and
page; URLs are rebuilt from the validated values, never taken from the request) and,
for 推荐并下一件, ``then=next``.

Answers:
- HTMX from a row: the row re-rendered (with a notice and a 撤销 button, or the error),
  plus the status tabs out of band; only that row changes.
- HTMX from the detail panel: the panel; ``then=next``: HX-Redirect to the next item
  within the current filter (or back to the list when none is left).
- Without JavaScript: post/redirect/get to the list (row) or the detail page, with a
  flash; a refused comment re-renders the comment box with the text kept (422).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from types import SimpleNamespace

from flask import (abort, flash, get_template_attribute, make_response, redirect, request,
                   session)
from flask_login import current_user
from jinja2_fragments.flask import render_block
from markupsafe import Markup

from ..htmx import is_fragment, redirect_to, render
from ..workflow import OperationError
from . import Action, Queue, QueueArgs, QueueContext, QueuePage, query_of

ROW, DETAIL = "row", "detail"


@dataclass
class RowState:
    """What a re-rendered row or panel shows besides the item."""

    notice: str | None = None
    error: str | None = None
    undo: Action | None = None          # offered right after a decision
    returning: Action | None = None     # the comment box of this action is open
    comment_error: str | None = None
    comment_value: str = ""


@dataclass
class QueueViews:
    queue: Queue
    list_template: str
    row_template: str
    context: Callable[[Any], QueueContext]
    operations: Mapping[str, Callable[..., Any]]
    detail_template: str | None = None
    detail_context: Callable[..., dict] | None = None
    page_context: Callable[[QueuePage], dict] | None = None
    notices: Mapping[str, str] = field(default_factory=dict)
    title: Callable[[Any], str] = lambda obj: str(obj.id)
    action_endpoints: Mapping[str, str] = field(default_factory=dict)
    row_endpoint: str = ""
    bulk_endpoint: str = ""
    id_arg: str = "id"
    row_id_prefix: str = "row-"

    # -- pages -------------------------------------------------------------------------------
    def list_page(self, ctx: QueueContext, status: int = 200, **extra):
        """The list page (block "results" for HTMX search / filters / paging)."""
        page = self.queue.page(ctx, request.args)
        return render(self.list_template, block="results", status=status,
                      **self.page_ctx(page), **extra)

    def page_ctx(self, page: QueuePage) -> dict:
        ctx = dict(page=page, queue=self.queue, qv=self, row_states={})
        if self.page_context is not None:
            ctx.update(self.page_context(page))
        return ctx

    def single_page(self, ctx: QueueContext, obj, args: QueueArgs) -> QueuePage:
        """A page holding just ``obj`` (for re-rendering its row), with fresh counts."""
        counts, total, capped = self.queue.count_all(ctx, args)
        page = QueuePage(self.queue, ctx, args, [obj], counts, total,
                         base_url=self.queue._list_url(ctx),
                         item_pattern=self.queue._item_pattern())
        page.capped = capped
        return page

    # -- URLs ----------------------------------------------------------------------------------
    def _pattern(self, endpoint: str) -> str:
        """``url_for(endpoint, id=…)`` with "{id}" in place of the id, built once per
        request (a page renders it for every row and action)."""
        from flask import url_for

        from ..request_cache import request_cache

        cache = (request_cache() or {}).setdefault("queue_url_patterns", {})
        pattern = cache.get(endpoint)
        if pattern is None:
            marker = 987654321
            pattern = url_for(endpoint, **{self.id_arg: marker}).replace(str(marker), "{id}")
            cache[endpoint] = pattern
        return pattern

    def action_url(self, action: Action | str, item_id: int) -> str:
        key = action if isinstance(action, str) else action.key
        return self._pattern(self.action_endpoints[key]).replace("{id}", str(item_id))

    def row_url(self, item_id: int) -> str:
        return self._pattern(self.row_endpoint).replace("{id}", str(item_id))

    def detail_url(self, ctx: QueueContext, args: QueueArgs, item_id: int) -> str:
        page = QueuePage(self.queue, ctx, args, [], {}, 0, base_url="",
                         item_pattern=self.queue._item_pattern())
        return page.item_url(item_id)

    def list_url(self, ctx: QueueContext, args: QueueArgs) -> str:
        qs = args.query_string()
        base = self.queue._list_url(ctx)
        return base + ("?" + qs if qs else "")

    # -- rendering rows and panels -------------------------------------------------------------
    _MARK = 987654320

    def actions_cell(self, page: QueuePage, item, state: RowState | None = None):
        """The decision cell of a row. A page shows up to 100 rows whose cells differ only
        by the item id within a state: the macro renders once per state with a marker id,
        and each row substitutes its own (a row with a notice, an error or an open comment
        box renders on its own)."""
        cache = page.__dict__.get("_cells")
        if cache is None:
            cache = page.__dict__["_cells"] = {
                None: get_template_attribute("_macros/queue.html", "row_actions")}
        if state is not None:
            return cache[None](self, page, item, state)
        parts = cache.get(item.status)
        if parts is None:
            fake = SimpleNamespace(id=self._MARK, status=item.status)
            parts = cache[item.status] = str(cache[None](self, page, fake, None)).split(
                str(self._MARK))
        if len(parts) == 1:
            return Markup(parts[0])
        return Markup(str(item.id).join(parts))

    def row_response(self, obj, ctx: QueueContext, args: QueueArgs, state: RowState,
                     status: int = 200):
        """HTMX: the row, and the status tabs (and whatever the summary block shows, e.g.
        a quota meter) out of band."""
        page = self.single_page(ctx, obj, args)
        pctx = self.page_ctx(page)
        pctx["row_states"] = {obj.id: state}
        body = render_block(self.row_template, "row", item=obj, **pctx)
        body += render_block(self.list_template, "summary", oob=True, **pctx)
        resp = make_response(body, status)
        resp.vary.add("HX-Request")
        return resp

    def detail_response(self, obj, ctx: QueueContext, args: QueueArgs, state: RowState,
                        status: int = 200, block: str | None = "review"):
        if self.detail_template is None or self.detail_context is None:
            abort(404)
        nav = self.queue.neighbours(ctx, args, obj)
        context = self.detail_context(obj)
        page = QueuePage(self.queue, ctx, args, [obj], {}, 0,
                         base_url=self.queue._list_url(ctx),
                         item_pattern=self.queue._item_pattern())
        context.update(qv=self, queue=self.queue, qctx=ctx, qargs=args, nav=nav, state=state,
                       page=page,
                       list_url=self.list_url(ctx, args),
                       prev_url=self.detail_url(ctx, args, nav.prev_id) if nav.prev_id else None,
                       next_url=self.detail_url(ctx, args, nav.next_id) if nav.next_id else None,
                       actions=self.queue.actions_for(obj.status, ctx))
        return render(self.detail_template, block=block, status=status, **context)

    def detail(self, obj):
        """GET the detail page (full page), with 上一件 / 下一件 of the current filter."""
        ctx = self.context(obj)
        args = self.queue.parse(request.args, ctx)
        return self.detail_response(obj, ctx, args, RowState(), block=None)

    def row(self, obj):
        """GET the row (HTMX 取消 of the comment box); without HTMX back to the list."""
        ctx = self.context(obj)
        args = self.queue.parse(query_of(request.values), ctx)
        view = request.values.get("view")
        if not is_fragment():
            return redirect(self.detail_url(ctx, args, obj.id) if view == DETAIL
                            else self.list_url(ctx, args), 303)
        if view == DETAIL:
            return self.detail_response(obj, ctx, args, RowState())
        return self.row_response(obj, ctx, args, RowState())

    def _answer(self, obj, ctx, args, view: str, state: RowState, status: int = 200):
        if view == DETAIL:
            if is_fragment():
                return self.detail_response(obj, ctx, args, state, status=status)
            return self.detail_response(obj, ctx, args, state, status=status, block=None)
        if is_fragment():
            return self.row_response(obj, ctx, args, state, status=status)
        # No JavaScript: the list focused on this row (a page of one).
        page = self.single_page(ctx, obj, args)
        pctx = self.page_ctx(page)
        pctx["row_states"] = {obj.id: state}
        return render(self.list_template, status=status, focus=obj, **pctx)

    # -- decisions -------------------------------------------------------------------------------
    def open_comment(self, obj, action_key: str):
        """GET of a commented action (退回): the row or panel with the comment box."""
        action = self.queue.action(action_key)
        if action is None:
            abort(404)
        ctx = self.context(obj)
        args = self.queue.parse(query_of(request.values), ctx)
        view = request.values.get("view") or ROW
        if obj.status not in action.sources or not ctx.can_decide:
            state = RowState(error=f"当前状态为“{self.queue.states.get(obj.status, obj.status)}”，"
                                   f"不能执行“{action.label}”")
            return self._answer(obj, ctx, args, view, state, status=409)
        return self._answer(obj, ctx, args, view, RowState(returning=action))

    def decide(self, obj, action_key: str):
        """POST a decision (or its undo) on one item."""
        action = self.queue.action(action_key)
        if action is None or action_key not in self.operations:
            abort(404)
        ctx = self.context(obj)
        args = self.queue.parse(query_of(request.values), ctx)
        view = request.values.get("view") or ROW
        then_next = request.values.get("then") == "next"
        key = self.queue.sort_key(args, obj) if then_next else None
        comment = request.form.get("comment", "")
        title = self.title(obj)
        item_id = obj.id
        try:
            self.operations[action_key](obj, current_user, comment)
        except OperationError as e:
            from ..extensions import db

            db.session.rollback()
            obj = db.session.get(type(obj), item_id)
            if action.comment and e.field == "comment":
                state = RowState(returning=action, comment_error=e.message,
                                 comment_value=comment)
                return self._answer(obj, ctx, args, view, state, status=422)
            # Refused (state, window, lock, quota, a race): the row or the panel with the
            # reason (without JavaScript: the list focused on this item, or the detail).
            return self._answer(obj, ctx, args, view, RowState(error=e.message), status=409)
        notice = self.notices.get(action_key, "已{label}《{title}》。").format(
            label=action.label, title=title)
        undo = self.queue.action(action.undo) if action.undo else None
        if then_next:
            nav = self.queue.neighbours(ctx, args, obj, key=key, with_position=False)
            flash(notice, "success")
            if nav.next_id:
                return redirect_to(self.detail_url(ctx, args, nav.next_id))
            flash("当前筛选条件下已没有下一件。", "info")
            return redirect_to(self.list_url(ctx, args))
        if is_fragment():
            return self._answer(obj, ctx, args, view, RowState(notice=notice, undo=undo))
        flash(notice, "success")
        return redirect_to(self.detail_url(ctx, args, item_id) if view == DETAIL
                           else self.list_url(ctx, args))

    # -- bulk ----------------------------------------------------------------------------------
    def bulk(self, ctx: QueueContext, action_key: str, confirm_template: str,
             form=None):
        """POST a bulk action: without ``confirmed`` a confirmation that names how many
        (and which) items; with it, the action on each item (each checked on its own)."""
        action = self.queue.action(action_key)
        if action is None or not action.bulk or action_key not in self.operations:
            abort(404)
        args = self.queue.parse(query_of(request.form), ctx)
        back = self.list_url(ctx, args)
        if not ctx.can_decide:
            flash("当前不能执行批量操作。", "error")
            return redirect_to(back)
        ids, truncated = self.queue.selected_ids(ctx, form if form is not None else request.form,
                                                 args, action)
        if not ids:
            flash(f"请先勾选要{action.label}的{self.queue.item_label}"
                  f"（仅“{'、'.join(self.queue.states[s] for s in sorted(action.sources) if s in self.queue.states)}”状态的可以{action.label}）。",
                  "warning")
            return redirect_to(back)
        if request.form.get("confirmed") != "1":
            from sqlalchemy import select

            from ..extensions import db

            objs = {o.id: o for o in db.session.scalars(
                select(self.queue.model).where(self.queue.model.id.in_(ids[:50])))}
            shown = [objs[i] for i in ids[:50] if i in objs]
            return render(confirm_template, action=action, ids=ids, shown=shown,
                          truncated=truncated, back=back, qs=args.query_string(),
                          queue=self.queue, qv=self, title=self.title, qctx=ctx)
        done, refused = [], []
        from ..extensions import db

        for item_id in ids:
            obj = db.session.get(self.queue.model, item_id)
            if obj is None:
                continue
            name = self.title(obj)
            try:
                self.operations[action_key](obj, current_user, "")
            except OperationError as e:
                db.session.rollback()
                refused.append((name, e.message))
                continue
            done.append(name)
        text = f"已{action.label} {len(done)} {self.queue.noun}"
        if refused:
            text += f"；未{action.label} {len(refused)} {self.queue.noun}：" + "；".join(
                f"《{n}》{m}" for n, m in refused[:20])
            if len(refused) > 20:
                text += " 等"
        flash(text + "。", "success" if not refused else ("warning" if done else "error"))
        # The list clears the reviewer's selection (kept in the browser) on its next load.
        session["queue_clear"] = self.queue.key
        return redirect_to(back)
