"""Imports the route modules (see the package docstring for who owns which URLs)."""
from . import code_routes, entry_routes, public_routes, review_routes, select_routes  # noqa: F401
