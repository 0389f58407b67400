"""The layout rule of DESIGN.md: no campaign imports another campaign. What two campaigns
need lives in a shared module (kepu/review_queue, kepu/form_fields, kepu/selections,
kepu/workbench …)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

KEPU = Path(__file__).resolve().parents[2] / "kepu"
CAMPAIGNS = ("works", "cases", "science_day")


def imported_campaigns(path: Path, own: str) -> set[str]:
    """The other campaigns a module imports (absolute or relative imports)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    depth = len(path.relative_to(KEPU).parts) - 1   # package depth below kepu/
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0:
                names = [module]
            elif node.level > depth:                  # climbs to kepu/ and below
                names = ["kepu." + module] + [f"kepu.{a.name}" for a in node.names
                                             if not module]
        for name in names:
            parts = name.split(".")
            if len(parts) > 1 and parts[0] == "kepu" and parts[1] in CAMPAIGNS \
                    and parts[1] != own:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("campaign", CAMPAIGNS)
def test_no_campaign_imports_another(campaign):
    offenders = {}
    for path in (KEPU / campaign).rglob("*.py"):
        other = imported_campaigns(path, campaign)
        if other:
            offenders[str(path.relative_to(KEPU))] = sorted(other)
    assert not offenders, offenders


def test_the_check_sees_such_an_import(tmp_path, monkeypatch):
    fake = KEPU / "cases" / "_layout_probe.py"
    try:
        fake.write_text("from ..works.models import Work\nimport kepu.science_day\n")
        assert imported_campaigns(fake, "cases") == {"works", "science_day"}
    finally:
        fake.unlink()
