"""Things other parts do when a user account appears or signs in, without accounts
importing them: a part registers a callable ``fn(user)`` here (e.g. 全国科普日 applies
the 推优 admin roles granted to the user's phone before they registered). Each runs
after the registration / login is committed; one that fails is logged and never blocks
the sign-in."""
from __future__ import annotations

import logging
from typing import Callable

log = logging.getLogger(__name__)

_ON_ACCOUNT: list[Callable] = []


def on_account(fn: Callable) -> Callable:
    """Register ``fn(user)`` to run after registration and after each login."""
    if fn not in _ON_ACCOUNT:
        _ON_ACCOUNT.append(fn)
    return fn


def run(user) -> None:
    from ..extensions import db

    for fn in list(_ON_ACCOUNT):
        try:
            fn(user)
        except Exception:  # noqa: BLE001 - a hook never takes sign-in down
            db.session.rollback()
            log.exception("account hook %s failed for user %s", fn, getattr(user, "id", None))
