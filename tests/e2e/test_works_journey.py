"""The works call end to end in Chromium (acceptance check of the works-call issue):
an applicant fills the three steps with uploads, autosave and a logout half-way, submits;
the recommender unit returns it with a comment, the applicant fixes and re-submits, the
unit recommends it; the platform admin assigns two experts, both score it, and the
ranking lists it with its mean score. A phone-sized context looks at the three steps."""
from __future__ import annotations

import json
import re

from playwright.sync_api import Browser, BrowserContext, Page, expect

PASSWORD = "Passw0rd!"  # same as tests/conftest.py

APPLICANT = "13800000001"
UNIT_ADMIN = "13800000002"
EXPERT_A = "13800000003"
EXPERT_B = "13800000004"
ADMIN = "13800000009"

UNIT = "北京市科学技术协会"
TITLE = "量子计算入门动画"
AUTHOR = "张三丰"
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# expert → (科学性, 创新性, 传播性); weights 40/30/30 (the default rubric):
# A: 36 + 24 + 21 = 81;  B: 32 + 27 + 25.5 = 84.5;  mean 82.75
SCORES = {EXPERT_A: ("90", "80", "70"), EXPERT_B: ("80", "90", "85")}
MEAN = "82.75"


def seed(server) -> None:
    def _seed():
        from kepu.accounts.models import User
        from kepu.accounts.operations import grant_role
        from kepu.admin.models import Campaign
        from kepu.extensions import db
        from kepu.orgs.models import Org

        db.session.add(Campaign(kind="works", year=2026, title="2026年全国优质科普作品征集",
                                settings={"window_open": "2020-01-01 00:00",
                                          "window_close": "2099-12-31 23:59"}))
        unit = Org(name=UNIT, kind="省级科协", region_code="11")
        db.session.add(unit)
        db.session.flush()
        people = ((APPLICANT, "王老师", None), (UNIT_ADMIN, "北京推荐管理员", ("unit_admin", unit.id)),
                  (EXPERT_A, "专家甲", ("expert", None)), (EXPERT_B, "专家乙", ("expert", None)),
                  (ADMIN, "平台管理员", ("platform_admin", None)))
        for phone, name, role in people:
            user = User(phone=phone, name=name)
            user.set_password(PASSWORD)
            db.session.add(user)
            db.session.flush()
            if role:
                grant_role(user, role[0], org_id=role[1])
        db.session.commit()

    server.run(_seed)


def sms_to(server, phone: str) -> list[dict]:
    """Notices sent to ``phone`` (the console SMS backend's outbox)."""
    if not server.outbox_path.exists():
        return []
    lines = server.outbox_path.read_text(encoding="utf-8").splitlines()
    return [m for m in map(json.loads, lines) if m["phone"] == phone]


def work_id_of(server) -> int:
    def _get():
        from kepu.works.models import Work
        from kepu.extensions import db

        ids = list(db.session.scalars(db.select(Work.id)))
        assert len(ids) == 1, ids
        return ids[0]

    return server.run(_get)


# --- helpers --------------------------------------------------------------------------
def go(target) -> None:
    """Click a link/button that loads a new page and wait until it has loaded (so htmx
    has wired the page before the test types: a person is never that fast)."""
    with target.page.expect_navigation():
        target.click()


def login(page: Page, server, phone: str) -> None:
    page.goto(server.url + "/account/login")
    page.get_by_placeholder("请输入手机号").fill(phone)
    page.get_by_placeholder("请输入密码").fill(PASSWORD)
    go(page.get_by_role("button", name="登录", exact=True))
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()  # every role lands here


def logout(page: Page) -> None:
    page.locator(".user-menu > summary").click()
    go(page.get_by_role("button", name="退出登录"))
    expect(page.locator(".site-header").get_by_role("link", name="登录", exact=True)).to_be_visible()


def new_session(browser: Browser, server, phone: str, **ctx) -> tuple[BrowserContext, Page]:
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **ctx)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("dialog", lambda d: d.accept())  # data-confirm buttons
    login(page, server, phone)
    return context, page


USER_MENU = ("个人中心", "我的作品", "我的案例", "管理后台")


def nav(page: Page, label: str) -> None:
    """A header link: 工作台 and the campaigns in the main navigation, the rest in the
    user menu (a <details> that opens first)."""
    if label in USER_MENU:
        page.locator(".user-menu > summary").click()
        go(page.locator(".user-menu").get_by_role("link", name=label))
    else:
        go(page.get_by_role("navigation", name="主导航").get_by_role("link", name=label))


def my_row(page: Page):
    return page.locator("table.works-table tbody tr", has_text=TITLE)


def autosaved(page: Page):
    """Context manager: wait for the next successful autosave."""
    return page.expect_response(lambda r: r.url.endswith("/autosave") and r.status == 200)


def fill_step1(page: Page, tmp_path) -> None:
    from PIL import Image

    cover = tmp_path / "封面.png"
    Image.new("RGB", (160, 120), "#3a7bd5").save(cover, "PNG")
    work_file = tmp_path / "作品说明.pdf"
    work_file.write_bytes(PDF_BYTES)

    page.get_by_label("作品名称").fill(TITLE)
    page.get_by_label("作品类型").select_option("科普视频")
    page.get_by_label("作品分类").select_option("前沿科技")
    page.get_by_label("作品简介").fill("用动画讲清量子比特和量子纠缠。")
    page.set_input_files("#upload-cover-input", str(cover))
    expect(page.locator("#upload-cover-list")).to_contain_text("封面.png")
    page.set_input_files("#upload-work_files-input", str(work_file))
    expect(page.locator("#upload-work_files-list")).to_contain_text("作品说明.pdf")

    # A file uploaded by mistake is removed in place (HTMX), keeping the page and input.
    wrong = tmp_path / "传错的文件.pdf"
    wrong.write_bytes(PDF_BYTES)
    page.set_input_files("#upload-work_files-input", str(wrong))
    files = page.locator("#upload-work_files-list")
    expect(files).to_contain_text("传错的文件.pdf")
    url = page.url
    files.get_by_role("button", name="删除 传错的文件.pdf").click()
    expect(files).not_to_contain_text("传错的文件.pdf")
    expect(files).to_contain_text("作品说明.pdf")
    assert page.url == url
    expect(page.get_by_label("作品名称")).to_have_value(TITLE)


def score(page: Page, values: tuple[str, str, str], overall: str) -> None:
    for label, value in zip(("科学性", "创新性", "传播性"), values):
        group = page.get_by_role("group", name=re.compile(label))
        group.get_by_label(re.compile("得分")).fill(value)
    page.get_by_label("总体评价").fill(overall)


# --- the journey ----------------------------------------------------------------------
def test_works_call_journey(page: Page, browser: Browser, live_server, shots, tmp_path):
    server = live_server
    seed(server)
    page.set_default_timeout(10_000)
    page.on("dialog", lambda d: d.accept())

    # 1-2. The applicant starts a work: step 1 with uploads, step 2 autosaves, logs out.
    login(page, server, APPLICANT)
    nav(page, "我的作品")
    go(page.get_by_role("link", name="提交作品").first)
    expect(page.get_by_role("heading", name="2026年全国优质科普作品征集")).to_be_visible()
    go(page.get_by_role("button", name="开始填写"))
    expect(page.get_by_role("heading", name="基本信息")).to_be_visible()
    fill_step1(page, tmp_path)
    counter = page.locator("[data-count-for=title]")
    expect(counter).to_have_text(str(len(TITLE)))
    shots(page, "step1")
    go(page.get_by_role("button", name="下一步"))

    expect(page.get_by_role("heading", name="补充信息")).to_be_visible()
    step2_url = page.url
    assert step2_url.endswith("/step/2")
    with autosaved(page):
        page.get_by_label("作者姓名").fill(AUTHOR)
    expect(page.locator("#autosave-status")).to_contain_text("已保存")
    logout(page)

    # 3. Back again: 我的作品 → the draft → 继续填写 lands on step 2, 作者姓名 kept.
    login(page, server, APPLICANT)
    nav(page, "我的作品")
    expect(my_row(page)).to_contain_text("草稿")
    go(my_row(page).get_by_role("link", name="继续填写"))
    expect(page).to_have_url(step2_url)
    expect(page.get_by_label("作者姓名")).to_have_value(AUTHOR)

    # 4. Step 2: unit, address, phone, the 申报单位类型 → 推荐渠道 cascade, 亮点总结.
    page.get_by_label(re.compile(r"申报单位$")).fill("北京科普创作中心")
    page.get_by_label("单位地址").fill("北京市海淀区复兴路3号")
    page.get_by_label("联系电话").fill("010-68524993")
    page.get_by_label("申报单位类型").select_option("高校科协")
    expect(page.locator("#channel_id-category")).to_contain_text("省级科协")
    channel = page.get_by_label("推荐渠道")
    expect(channel.locator("option", has_text=UNIT)).to_have_count(1)
    channel.select_option(label=UNIT)
    highlights = "科学性强：内容经三位院士审核；传播性好：全网播放量超过100万次。"
    hl_counter = page.locator("[data-count-for=highlights]")
    expect(hl_counter).to_have_text("0")
    page.get_by_label("亮点总结").fill(highlights)
    expect(hl_counter).to_have_text(str(len(highlights)))
    shots(page, "step2")
    go(page.get_by_role("button", name="下一步"))

    # Preview: what was entered, and the declaration.
    expect(page.get_by_role("heading", name="预览")).to_be_visible()
    preview = page.locator("section.preview")
    for text in (TITLE, AUTHOR, UNIT, "北京科普创作中心", "010-68524993", "封面.png",
                 "作品说明.pdf", highlights):
        expect(preview).to_contain_text(text)
    expect(preview).not_to_contain_text("传错的文件.pdf")
    expect(preview.locator(".wf-missing")).to_have_count(0)
    expect(page.get_by_role("heading", name="申报声明")).to_be_visible()
    expect(page.locator(".declaration-list li")).to_have_count(5)
    shots(page, "preview")

    # The same draft on a phone: the three steps at 390×844.
    work_id = work_id_of(server)
    mobile, phone = new_session(browser, server, APPLICANT,
                                viewport={"width": 390, "height": 844})
    for step, heading in ((1, "基本信息"), (2, "补充信息"), (3, "预览")):
        phone.goto(f"{server.url}/works/{work_id}/step/{step}")
        expect(phone.get_by_role("heading", name=heading)).to_be_visible()
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"step {step} scrolls sideways on a phone ({width}px)"
        shots(phone, f"mobile-step{step}")
    mobile.close()

    # 确认提交 without the declaration is refused next to the checkbox.
    go(page.get_by_role("button", name="确认提交"))
    expect(page.locator("#declaration-error")).to_have_text("请阅读并勾选同意申报声明")
    expect(page.get_by_label("我已阅读并同意上述申报声明")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("我已阅读并同意上述申报声明").check()
    go(page.get_by_role("button", name="确认提交"))
    expect(page.get_by_role("heading", name="我的作品")).to_be_visible()
    expect(page.locator("#messages")).to_contain_text("作品已提交")
    expect(my_row(page)).to_contain_text("待推荐")

    # 5. The unit admin returns it: empty comment refused inline, then a real one.
    unit_ctx, unit = new_session(browser, server, UNIT_ADMIN)
    # the workbench's 作品推荐 card: 待推荐 1, one click to the list of works to decide
    card = unit.locator('[data-card^="works.unit."]')
    expect(card.locator('[data-count="待推荐"] .wb-num')).to_have_text("1")
    go(card.get_by_role("link", name=re.compile("审核待推荐作品")))
    row = unit.locator(f"#work-row-{work_id}")
    expect(row).to_contain_text("待推荐")
    row.get_by_role("link", name="退回修改").click()
    box = row.get_by_label("退回意见")
    expect(box).to_be_visible()
    expect(box).to_be_focused()
    return_posts = []
    unit.on("request", lambda r: return_posts.append(r.url)
            if r.method == "POST" and "/return" in r.url else None)
    row.get_by_role("button", name="确认退回").click()  # empty: the browser refuses
    assert box.evaluate("el => el.validity.valueMissing")
    box.fill("   ")  # blank: the server refuses, next to the box
    row.get_by_role("button", name="确认退回").click()
    expect(row.locator(".error")).to_contain_text("退回")
    expect(row.get_by_label("退回意见")).to_have_attribute("aria-invalid", "true")
    assert len(return_posts) == 1, return_posts  # the empty one never left the browser
    shots(unit, "return-box")
    comment = "请补充作品文件的字幕稿，并说明播放量的数据来源。"
    row.get_by_label("退回意见").fill(comment)
    row.get_by_role("button", name="确认退回").click()
    expect(row).to_contain_text("退回修改")
    expect(row.get_by_role("status")).to_contain_text("已将作品")
    expect(row.get_by_label("退回意见")).to_have_count(0)
    expect(row).to_contain_text("退回意见：" + comment[:10])
    assert any("退回修改" in m["text"] for m in sms_to(server, APPLICANT))

    # 6. The applicant sees the comment, edits 作品简介 and re-submits (确认更新).
    nav(page, "我的作品")
    expect(my_row(page)).to_contain_text("退回修改")
    expect(my_row(page)).to_contain_text(comment)
    shots(page, "my-works-returned")
    go(my_row(page).get_by_role("link", name="编辑"))
    expect(page.locator(".return-comment")).to_contain_text(comment)
    new_intro = "用动画讲清量子比特和量子纠缠，附字幕稿；播放量数据来自平台后台统计。"
    page.get_by_label("作品简介").fill(new_intro)
    go(page.get_by_role("button", name="下一步"))
    expect(page.get_by_role("heading", name="补充信息")).to_be_visible()
    go(page.get_by_role("button", name="下一步"))
    expect(page.get_by_role("heading", name="预览")).to_be_visible()
    expect(page.locator("section.preview")).to_contain_text(new_intro)
    page.get_by_label("我已阅读并同意上述申报声明").check()
    go(page.get_by_role("button", name="确认更新"))
    expect(page.locator("#messages")).to_contain_text("作品已更新")
    expect(my_row(page)).to_contain_text("待推荐")
    expect(my_row(page)).not_to_contain_text(comment)

    # 7. The unit admin recommends it inline; the applicant can no longer edit.
    unit.reload()
    row = unit.locator(f"#work-row-{work_id}")
    expect(row).to_contain_text("待推荐")
    row.get_by_role("button", name="推荐", exact=True).click()
    expect(row).to_contain_text("完成推荐")
    expect(row.get_by_role("button", name="推荐", exact=True)).to_have_count(0)
    unit_ctx.close()

    page.reload()
    expect(my_row(page)).to_contain_text("完成推荐")
    expect(my_row(page).get_by_role("link", name=re.compile("编辑|继续填写"))).to_have_count(0)
    page.goto(f"{server.url}/works/{work_id}/step/1")
    expect(page).to_have_url(f"{server.url}/works/{work_id}")
    expect(page.locator("#messages")).to_contain_text("不能再修改")
    expect(page.get_by_role("link", name="编辑作品")).to_have_count(0)
    assert any("完成推荐" in m["text"] for m in sms_to(server, APPLICANT))
    shots(page, "view-recommended")

    # 8. The platform admin assigns two experts on the work's page.
    admin_ctx, admin = new_session(browser, server, ADMIN)
    admin.goto(server.url + "/works/admin/")
    go(admin.get_by_role("link", name=TITLE))
    go(admin.get_by_role("link", name="分配评审专家"))
    panel = admin.locator("#assign-panel")
    expect(panel).to_contain_text("尚未分配评审专家")
    for name in ("专家甲", "专家乙"):
        picker = admin.get_by_label("添加专家")
        option = picker.locator("option", has_text=name)
        expect(option).to_contain_text("已分配 0 件")
        picker.select_option(option.get_attribute("value"))
        admin.get_by_role("button", name="添加", exact=True).click()
        expect(panel.get_by_role("status")).to_contain_text(f"已添加专家 {name}")
    expect(panel.locator(".sc-form-head .badge")).to_have_text("专家评审中")
    expect(panel).to_contain_text("已提交评分 0 / 共 2 位专家")
    assign_url = admin.url

    # 9. Each expert scores it; the work leaves 专家评审中 after the second.
    for n, (expert, label) in enumerate(((EXPERT_A, "专家甲"), (EXPERT_B, "专家乙")), 1):
        ctx, ex = new_session(browser, server, expert)
        # the workbench's 专家评审 card: 去评分 opens the list of works to score
        expect(ex.locator('[data-card="works.expert"] [data-count="待评分"] .wb-num')).to_have_text("1")
        go(ex.locator('[data-card="works.expert"]').get_by_role("link", name=re.compile("去评分")))
        go(ex.get_by_role("link", name=TITLE).first)
        expect(ex.get_by_role("heading", name="评分", exact=True)).to_be_visible()
        if n == 1:
            ex.get_by_role("button", name="提交评分").click()  # nothing entered: refused
            expect(ex.locator("#score-form .error-summary")).to_contain_text("4 处")
            expect(ex.locator("#confirm-submit")).to_have_count(0)  # no question before the check
            expect(ex.get_by_label("总体评价")).to_have_attribute("aria-invalid", "true")
        score(ex, SCORES[expert], f"{label}：选题新颖，讲解清楚。")
        expect(ex.locator("#sc-total")).to_have_text("81" if n == 1 else "84.5")
        shots(ex, f"scoring-{n}")
        ex.get_by_role("button", name="提交评分").click()
        # validated first, then asked (the scores are kept as 暂存 meanwhile)
        expect(ex.locator("#confirm-submit")).to_contain_text("提交后不能再修改评分")
        expect(ex.get_by_role("button", name="确认提交评分")).to_be_focused()
        ex.get_by_role("button", name="确认提交评分").click()
        expect(ex.locator("#messages")).to_contain_text("评分已提交")
        expect(ex.locator("#score-form")).to_contain_text("评分不能再修改")
        ctx.close()
        admin.goto(assign_url)
        expect(panel).to_contain_text(f"已提交评分 {n} / 共 2 位专家")
        expect(panel.locator(".sc-form-head .badge")).to_have_text(
            "专家评审中" if n == 1 else "专家已评审")

    # 10. The ranking lists the work with the mean of the two totals.
    nav(admin, "管理后台")
    go(admin.get_by_role("link", name="评审排名与入选"))
    ranked = admin.locator(f"#work-{work_id}")
    expect(ranked).to_contain_text(TITLE)
    expect(ranked).to_contain_text("专家已评审")
    expect(ranked.locator(".sc-mean")).to_have_text(MEAN)
    expect(ranked).to_contain_text("2 / 2")
    shots(admin, "ranking")
    admin_ctx.close()
