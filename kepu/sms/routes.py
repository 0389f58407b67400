"""Routes (thin): load → 404 → permission → form → operation → render."""
from . import bp  # noqa: F401
