"""Permission helpers shared by every blueprint.

Routes use ``@login_required`` / ``@role_required(...)`` for coarse checks and
``load_or_404(Model, id, "can_view")`` for object checks: an object the user may
not see answers 404, never 403, so its existence does not leak.
"""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required  # noqa: F401  (re-exported)

from ..extensions import db, login_manager


def role_required(*roles: str):
    """Require any of ``roles`` (platform admins pass every role check)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not (current_user.is_platform_admin
                    or any(current_user.has_role(r) for r in roles)):
                abort(404)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def platform_admin_required(view):
    from .roles import PLATFORM_ADMIN

    return role_required(PLATFORM_ADMIN)(view)


def load_or_404(model, object_id, predicate: str = "can_view"):
    """Load ``model`` by primary key and check ``obj.<predicate>(current_user)``."""
    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    check = getattr(obj, predicate, None)
    if check is None or not check(current_user):
        abort(404)
    return obj
