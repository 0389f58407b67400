"""``flask kepu backup`` / ``flask kepu restore`` round trip (issue 11 §4).

A populated instance (migrated schema, users with passwords, a real-name certification,
a work with files, a case, an org) is backed up into one archive (database, uploads,
keys; owner-only; never overwritten unless asked), restored into an empty instance
(another database, uploads folder and instance folder), and after a restart every user,
entry, file and certification works there. Runs on SQLite and, with
KEPU_TEST_DATABASE_URL, on PostgreSQL (pg_dump / pg_restore).
"""
from __future__ import annotations

import io
import json
import stat
import tarfile
import uuid

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from werkzeug.datastructures import FileStorage

from kepu import create_app
from kepu.extensions import db

PASSWORD = "Passw0rd!"
ID_NUMBER = "11010519491231002X"


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 30)).save(buf, "PNG")
    return buf.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def new_database(tmp_path, database_url):
    """Factory of empty databases of the suite's backend (dropped afterwards)."""
    made = []
    url = make_url(database_url)

    def make(label: str) -> str:
        if url.get_backend_name() == "sqlite":
            return "sqlite:///" + str(tmp_path / f"{label}.sqlite3")
        name = f"kepu_bk_{label}_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url.set(drivername="postgresql+psycopg"),
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        made.append(name)
        return url.set(database=name).render_as_string(hide_password=False)

    yield make
    admin = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    for name in made:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _instance(tmp_path, label: str, db_url: str):
    """An app like a deployment's: the secret key lives in instance/secret_key."""
    return create_app({
        "TESTING": True, "DATABASE_URL": db_url, "SMS_BACKEND": "test",
        "INSTANCE_PATH": str(tmp_path / label / "instance"),
        "UPLOAD_DIR": str(tmp_path / label / "uploads"), "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False, "SERVER_NAME": "localhost",
    })


def _populate(app) -> dict:
    from kepu.accounts.models import User
    from kepu.accounts.operations import certify_real_name, grant_role
    from kepu.admin.models import Campaign
    from kepu.cases.models import Case
    from kepu.files.operations import attach, save_upload
    from kepu.orgs.models import Org
    from kepu.timeutil import utcnow
    from kepu.works.files import field_name
    from kepu.works.models import Work

    with app.app_context():
        upgrade()
        works = Campaign(kind="works", year=2026, title="2026作品征集",
                         settings={"window_open": "2020-01-01 00:00",
                                   "window_close": "2099-12-31 23:59"})
        cases = Campaign(kind="cases", year=2026, title="2026典赞", settings={})
        org = Org(name="北京市科学技术协会", kind="省级科协", region_code="11")
        db.session.add_all([works, cases, org])
        db.session.commit()
        users = []
        for i in range(3):
            u = User(phone=f"1390000020{i}", name=f"用户{i}")
            u.set_password(PASSWORD)
            db.session.add(u)
            users.append(u)
        db.session.commit()
        grant_role(users[1], "unit_admin", org_id=org.id)
        certify_real_name(users[0], "张三", ID_NUMBER)
        cover = save_upload(field_name(works.id, "cover"),
                            FileStorage(io.BytesIO(_png()), filename="封面.png"), users[0])
        doc = save_upload(field_name(works.id, "work_file"),
                          FileStorage(io.BytesIO(PDF), filename="作品.pdf"), users[0])
        work = Work(campaign_id=works.id, owner_id=users[0].id, status="pending",
                    channel_id=org.id, title="身边的量子科技", work_type="科普视频",
                    category="前沿科技", intro="简介", submitted_at=utcnow())
        db.session.add(work)
        db.session.commit()
        attach(cover, "work", work.id)
        attach(doc, "work", work.id)
        db.session.add(Case(campaign_id=cases.id, org_id=org.id, owner_id=users[2].id,
                            status="draft", name="流动科技馆进乡村"))
        db.session.commit()
        return {"phones": [u.phone for u in users], "files": {cover.id: _png(), doc.id: PDF},
                "work": work.id, "counts": _counts(), "key": app.config["SECRET_KEY"],
                "max_user_id": max(u.id for u in users)}


def _counts() -> dict:
    return {t.name: db.session.scalar(select(func.count()).select_from(t))
            for t in db.metadata.sorted_tables}


def _backup(app, *args):
    return app.test_cli_runner().invoke(args=["kepu", "backup", *args])


def _restore(app, *args):
    return app.test_cli_runner().invoke(args=["kepu", "restore", *args])


def test_backup_restore_round_trip(tmp_path, new_database):
    src = _instance(tmp_path, "src", new_database("src"))
    facts = _populate(src)
    archive = tmp_path / "out" / "kepu.tar.gz"
    archive.parent.mkdir()

    result = _backup(src, str(archive))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    assert any(n.startswith("database/") for n in names)
    assert sum(n.startswith("uploads/") for n in names) == 2
    assert "keys/secret_key" in names
    assert manifest["schema_revision"] and manifest["database"] in ("sqlite", "postgresql")

    # Never overwritten unless asked.
    before = archive.read_bytes()
    again = _backup(src, str(archive))
    assert again.exit_code != 0 and "exists" in again.output
    assert archive.read_bytes() == before
    forced = _backup(src, str(archive), "--force")
    assert forced.exit_code == 0, forced.output
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with src.app_context():
        db.engine.dispose()

    # Restore into an empty instance (its own generated key until the restore).
    dst_url = new_database("dst")
    dst = _instance(tmp_path, "dst", dst_url)
    assert dst.config["SECRET_KEY"] != facts["key"]
    with dst.app_context():
        result = _restore(dst, str(archive))
        assert result.exit_code == 0, result.output
        db.engine.dispose()
    key_file = tmp_path / "dst" / "instance" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    # Restart and check everything works there.
    app = _instance(tmp_path, "dst", dst_url)
    assert app.config["SECRET_KEY"] == facts["key"]
    with app.app_context():
        assert _counts() == facts["counts"]
        client = app.test_client()
        for phone in facts["phones"]:
            r = client.post("/account/login", data={"method": "password", "phone": phone,
                                                    "password": PASSWORD})
            assert r.status_code == 303, phone
            client.post("/account/logout")
        client.post("/account/login", data={"method": "password", "phone": facts["phones"][0],
                                            "password": PASSWORD})
        for file_id, data in facts["files"].items():
            r = client.get(f"/files/{file_id}")
            assert r.status_code == 200 and r.data == data
        page = client.get(f"/works/{facts['work']}").get_data(as_text=True)
        assert "身边的量子科技" in page
        assert "已认证" in client.get("/account/").get_data(as_text=True)
        client.post("/account/logout")
        # The keyed ID hash still matches: a second account cannot certify the number.
        client.post("/account/login", data={"method": "password", "phone": facts["phones"][2],
                                            "password": PASSWORD})
        r = client.post("/account/realname", data={"real_name": "李四", "id_number": ID_NUMBER})
        assert r.status_code == 422 and "已被其他账号认证" in r.get_data(as_text=True)
        # New rows get fresh ids (sequences restored).
        from kepu.accounts.models import User
        u = User(phone="13900000299")
        u.set_password(PASSWORD)
        db.session.add(u)
        db.session.commit()
        assert u.id > facts["max_user_id"]
        # A second restore into the now populated instance is refused unless forced.
        refused = _restore(app, str(archive))
        assert refused.exit_code != 0 and "--force" in refused.output
        db.engine.dispose()


def test_restore_refuses_a_tampered_archive(tmp_path, new_database):
    src = _instance(tmp_path, "src", new_database("src2"))
    _populate(src)
    archive = tmp_path / "kepu.tar.gz"
    assert _backup(src, str(archive)).exit_code == 0
    with src.app_context():
        db.engine.dispose()
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(archive) as tar, tarfile.open(bad, "w:gz") as out:
        for member in tar.getmembers():
            data = tar.extractfile(member).read() if member.isfile() else None
            if member.name.startswith("uploads/"):
                data = b"changed" + data
                member.size = len(data)
            out.addfile(member, io.BytesIO(data) if data is not None else None)
        evil = tarfile.TarInfo("../../escape.txt")
        evil.size = 1
        out.addfile(evil, io.BytesIO(b"x"))
    dst = _instance(tmp_path, "dst2", new_database("dst2"))
    with dst.app_context():
        result = _restore(dst, str(bad))
        assert result.exit_code != 0
        db.engine.dispose()
    assert not (tmp_path / "escape.txt").exists()
    assert not any((tmp_path / "dst2" / "uploads").glob("*/*"))


def test_backup_to_a_directory_keeps_the_newest(tmp_path, new_database):
    src = _instance(tmp_path, "src", new_database("src3"))
    _populate(src)
    folder = tmp_path / "backups"
    folder.mkdir()
    with src.app_context():
        from kepu.backup import backup_to_directory

        made = [backup_to_directory(folder, keep=2, stamp=f"2026010{i}-000000")
                for i in range(1, 5)]
        db.engine.dispose()
    left = sorted(p.name for p in folder.iterdir())
    assert left == [made[2].name, made[3].name]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in folder.iterdir())


def test_nightly_backup_runs_on_the_task_queue(app_factory, tmp_path):
    """The worker's periodic task writes an archive into BACKUP_DIR (none without it)."""
    folder = tmp_path / "nightly"
    app = app_factory(BACKUP_DIR=str(folder), BACKUP_KEEP=2)
    q = app.extensions["kepu_jobs"]
    periodic = {t.__name__: t for t in q.huey._registry._periodic_tasks}
    assert "nightly_backup" in periodic
    from kepu.backup import _nightly_backup, backup_to_directory

    with app.app_context():
        backup_to_directory(folder, keep=2, stamp="20261130-033000")
        backup_to_directory(folder, keep=2, stamp="20261201-033000")
        _nightly_backup()                       # the task: a third, the oldest pruned
    archives = sorted(p.name for p in folder.iterdir())
    assert len(archives) == 2 and "kepu-20261130-033000.tar.gz" not in archives
    assert all((folder / n).stat().st_mode & 0o077 == 0 for n in archives)
