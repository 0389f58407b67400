"""The declarative state machine and its audit trail."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from kepu.extensions import db
from kepu.workflow import AuditLog, StateMachine, Transition, TransitionError, audit


def test_unknown_state_in_transition_is_rejected():
    with pytest.raises(ValueError):
        StateMachine("x", {"a": "A"}, [Transition("go", {"a"}, "b", "去")])


def test_duplicate_action_is_rejected():
    with pytest.raises(ValueError):
        StateMachine("x", {"a": "A", "b": "B"},
                     [Transition("go", {"a"}, "b", "去"), Transition("go", {"b"}, "a", "回")])


class FakeUser:
    def __init__(self, id, admin=False):
        self.id = id
        self.admin = admin


def machine():
    return StateMachine(
        "user",  # reuse the user table: its `name` column plays the state
        {"draft": "草稿", "pending": "待推荐", "returned": "退回修改", "recommended": "完成推荐"},
        [
            Transition("submit", {"draft", "returned"}, "pending", "提交",
                       allowed=lambda obj, u: u.id == obj.id),
            Transition("return", {"pending"}, "returned", "退回修改",
                       allowed=lambda obj, u: u.admin, requires_comment=True),
            Transition("recommend", {"pending"}, "recommended", "推荐",
                       allowed=lambda obj, u: u.admin,
                       guards=(lambda obj, u: "推荐名额已用完" if getattr(obj, "_full", False) else None,)),
        ],
        state_attr="name",
    )


@pytest.fixture
def entity(make_user):
    return make_user(name="draft")


def test_apply_changes_state_and_writes_audit(entity):
    m = machine()
    owner = FakeUser(entity.id)
    m.apply(entity, "submit", owner)
    db.session.commit()
    assert entity.name == "pending"
    rows = m.history(entity)
    assert [(r.action, r.from_state, r.to_state, r.actor_id) for r in rows] == [
        ("submit", "draft", "pending", entity.id)]


def test_wrong_user_is_refused(entity):
    with pytest.raises(TransitionError) as e:
        machine().apply(entity, "submit", FakeUser(entity.id + 1))
    assert e.value.code == "forbidden"
    assert entity.name == "draft"


def test_wrong_state_is_refused_with_chinese_message(entity):
    with pytest.raises(TransitionError) as e:
        machine().apply(entity, "return", FakeUser(None, admin=True), comment="x")
    assert e.value.code == "wrong_state"
    assert "草稿" in e.value.message and "退回修改" in e.value.message


def test_comment_required(entity):
    m = machine()
    m.apply(entity, "submit", FakeUser(entity.id))
    with pytest.raises(TransitionError) as e:
        m.apply(entity, "return", FakeUser(None, admin=True), comment="  ")
    assert e.value.code == "comment_required"
    m.apply(entity, "return", FakeUser(None, admin=True), comment="请补充材料")
    db.session.commit()
    assert entity.name == "returned"
    assert m.history(entity)[-1].comment == "请补充材料"


def test_guard_message(entity):
    m = machine()
    m.apply(entity, "submit", FakeUser(entity.id))
    entity._full = True
    with pytest.raises(TransitionError) as e:
        m.apply(entity, "recommend", FakeUser(None, admin=True))
    assert e.value.message == "推荐名额已用完"


def test_available_lists_only_permitted_actions(entity):
    m = machine()
    assert [t.action for t in m.available(entity, FakeUser(entity.id))] == ["submit"]
    assert m.available(entity, FakeUser(None, admin=True)) == []


def test_concurrent_change_loses(entity, app):
    """A stale object (someone else moved it meanwhile) cannot transition."""
    m = machine()
    m.apply(entity, "submit", FakeUser(entity.id))
    db.session.commit()
    assert entity.name == "pending"  # loaded into this session
    # Another request (its own connection) recommends it behind our back.
    with db.engine.begin() as conn:
        conn.execute(db.text("UPDATE \"user\" SET name='recommended' WHERE id=:id"),
                     {"id": entity.id})
    assert entity.name == "pending"  # our copy is now stale
    with pytest.raises(TransitionError) as e:
        m.apply(entity, "return", FakeUser(None, admin=True), comment="x")
    assert e.value.code == "conflict"
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "return")) is None


def test_audit_helper(entity):
    audit("org", 5, "merge", FakeUser(entity.id), comment="合并", data={"into": 3})
    db.session.commit()
    row = db.session.scalar(select(AuditLog).where(AuditLog.entity_type == "org"))
    assert (row.entity_id, row.action, row.data) == (5, "merge", {"into": 3})
