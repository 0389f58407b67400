"""Phone enumeration (issue 11 §7): password login runs the KDF for unknown phones too,
and the register page only says 已注册 behind the SMS caps (tests/sms has those)."""
from __future__ import annotations

import pytest

from kepu.accounts import models as account_models

PHONE = "13912345678"


@pytest.fixture
def kdf_calls(monkeypatch):
    calls = []
    real = account_models.check_password_hash

    def counting(pwhash, password):
        calls.append(pwhash.split("$", 1)[0])
        return real(pwhash, password)

    monkeypatch.setattr(account_models, "check_password_hash", counting)
    return calls


@pytest.mark.parametrize("known", [True, False])
def test_password_login_runs_the_kdf_for_known_and_unknown_phones(client, make_user,
                                                                   kdf_calls, known):
    make_user(phone=PHONE)
    phone = PHONE if known else "13700000000"
    r = client.post("/account/login", data={"method": "password", "phone": phone,
                                            "password": "wrong-password"})
    assert r.status_code == 422 and "手机号或密码错误" in r.get_data(as_text=True)
    assert len(kdf_calls) == 1
    assert kdf_calls[0].startswith("scrypt")  # the same KDF and parameters


def test_dummy_hash_uses_the_same_parameters_as_real_ones(app, make_user):
    from werkzeug.security import generate_password_hash

    from kepu.accounts.models import dummy_password_hash

    real = generate_password_hash("x", method="scrypt")
    assert dummy_password_hash().split("$")[0] == real.split("$")[0]


def test_inactive_user_with_wrong_password_gets_the_same_answer(client, make_user):
    make_user(phone=PHONE, active=False)
    r = client.post("/account/login", data={"method": "password", "phone": PHONE,
                                            "password": "wrong-password"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "手机号或密码错误" in html and "停用" not in html
