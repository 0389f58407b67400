"""Sessions that end on the server.

Flask keeps the session in a signed cookie, which on its own stays valid until it
expires: a copy taken before 退出登录 would still open the account. So every login also
stores a ``UserSession`` row and puts a random token in the session; the user loader
(``kepu.web.load_user``) accepts a session only while its row exists and is younger
than ``PERMANENT_SESSION_LIFETIME``.

- ``start(user)``: after ``login_user`` (a fresh session) — new row, token in the session.
- ``end()``: 退出登录 — deletes this session's row.
- ``end_all(user)``: 退出所有设备, password change or reset, deactivation — deletes
  every row of the user (the caller commits).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, has_request_context, session
from sqlalchemy import delete, select

from ..extensions import db
from ..timeutil import utcnow
from .models import UserSession

SESSION_KEY = "_kepu_sid"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _lifetime() -> timedelta:
    return current_app.permanent_session_lifetime


def start(user) -> None:
    """Record a new login of ``user`` and tie the current session to it (commits)."""
    token = secrets.token_urlsafe(32)
    cutoff = utcnow() - _lifetime()
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id,
                                                 UserSession.created_at < cutoff))
    db.session.add(UserSession(user_id=user.id, token_hash=_hash(token)))
    db.session.commit()
    session[SESSION_KEY] = token


def current_token_hash() -> str | None:
    """The hash of the current request's session token, or None without one."""
    if not has_request_context():
        return None
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        return None
    return _hash(token)


def login_started_column(user_entity, token_hash: str):
    """A scalar column for the user loader's one statement: when this session's login
    of ``user_entity`` started, or NULL if it has ended (saves a query per request)."""
    return (select(UserSession.created_at)
            .where(UserSession.token_hash == token_hash,
                   UserSession.user_id == user_entity.id)
            .scalar_subquery())


def started_is_live(created) -> bool:
    return created is not None and created > utcnow() - _lifetime()


def is_live(user) -> bool:
    """The current request's session is a login of ``user`` that has not ended."""
    token_hash = current_token_hash()
    if token_hash is None:
        return False
    created = db.session.scalar(select(UserSession.created_at).where(
        UserSession.token_hash == token_hash, UserSession.user_id == user.id))
    return started_is_live(created)


def end() -> None:
    """End the current session on the server (commits)."""
    token = session.pop(SESSION_KEY, None)
    if isinstance(token, str) and token:
        db.session.execute(delete(UserSession).where(UserSession.token_hash == _hash(token)))
        db.session.commit()


def end_all(user) -> None:
    """End every session of ``user`` (the caller commits)."""
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))


def count(user) -> int:
    from sqlalchemy import func

    cutoff = utcnow() - _lifetime()
    return db.session.scalar(select(func.count(UserSession.id)).where(
        UserSession.user_id == user.id, UserSession.created_at > cutoff)) or 0
