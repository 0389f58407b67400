"""GET /cases/start?code= checks codes under the same limit as the POST (issue 11 §9)."""
from __future__ import annotations


def test_get_with_code_is_rate_limited_like_the_post(app_factory, make_user):
    app = app_factory(RATELIMIT_ENABLED=True, CASES_CODE_RATE_LIMIT="3 per minute")
    with app.app_context():
        from kepu.accounts.models import User
        from kepu.admin.models import Campaign
        from kepu.cases.models import RecommendCode
        from kepu.extensions import db
        from kepu.orgs.models import Org

        campaign = Campaign(kind="cases", year=2026, title="2026典赞",
                            settings={"window_open": "2020-01-01 00:00",
                                      "window_close": "2099-12-31 23:59"})
        org = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
        db.session.add_all([campaign, org])
        db.session.commit()
        db.session.add(RecommendCode(campaign_id=campaign.id, org_id=org.id, code="ABCDEFGHJK"))
        user = User(phone="13900000123")
        user.set_password("Passw0rd!")
        db.session.add(user)
        db.session.commit()
        client = app.test_client()
        client.post("/account/login", data={"method": "password", "phone": "13900000123",
                                             "password": "Passw0rd!"})
        for guess in ("AAAAAAAAAA", "BBBBBBBBBB", "CCCCCCCCCC"):
            r = client.get("/cases/start", query_string={"code": guess})
            assert r.status_code in (200, 422)
        r = client.get("/cases/start", query_string={"code": "ABCDEFGHJK"})
        assert r.status_code == 429
        assert "推荐码输入错误次数过多" in r.get_data(as_text=True)
        assert "北京市科学技术协会" not in r.get_data(as_text=True)
        # The POST shares the same counter.
        r = client.post("/cases/start", data={"code": "ABCDEFGHJK"})
        assert r.status_code == 429
        # A plain GET without a code still shows the page.
        assert client.get("/cases/start").status_code == 200
