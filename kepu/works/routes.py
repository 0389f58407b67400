"""Imports the route modules (see the package docstring for who owns which URLs)."""
from . import admin_routes, apply_routes, expert_routes, review_routes  # noqa: F401
