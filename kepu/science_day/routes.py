"""Imports the route modules (see the package docstring for who owns which URLs)."""
