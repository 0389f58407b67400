"""The works call's 入选 works of a year, offered to other campaigns (kepu.selections):
the case collection's 科普作品传播 showcase lists them."""
from __future__ import annotations

from sqlalchemy import select

from ..admin.models import Campaign
from ..selections import Pool, register_pool
from .models import Work
from .settings import KIND


def _selected(year: int) -> list:
    edition = (select(Campaign.id).where(Campaign.kind == KIND, Campaign.year == year)
               .order_by(Campaign.id.desc()).limit(1).scalar_subquery())
    return [Work.campaign_id == edition, Work.selected.is_(True)]


WORKS_POOL = register_pool(Pool(
    kind=KIND, label="科普作品", model=Work, selected=_selected,
    search_columns=(Work.title, Work.applicant_unit, Work.author_name),
    unit_column=Work.channel_id, category_column=Work.category,
    title_of=lambda w: w.display_title))
