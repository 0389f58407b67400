"""kepu — the platform for China's national science-popularisation calls."""
from __future__ import annotations

import logging
import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from .config import load_config
from . import extensions as ext

__version__ = "0.1.0"


def create_app(test_config: dict | None = None) -> Flask:
    """The app. Raises ``kepu.config.ConfigError`` when a setting is wrong."""
    if test_config is not None:
        instance_path = test_config.get("INSTANCE_PATH")
    else:
        instance_path = os.environ.get("KEPU_INSTANCE_PATH") or None
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
        instance_path=os.path.abspath(instance_path) if instance_path else None,
    )
    logging.basicConfig(level=logging.INFO)
    load_config(app, test_config)

    from .urls import install_converters
    install_converters(app)  # before any rule is added: ids no column holds never match

    hops = int(app.config.get("PROXY_HOPS") or 0)
    if hops:
        # Behind that many trusted reverse proxies, the client address and scheme come
        # from X-Forwarded-For / X-Forwarded-Proto (rate limits and SMS caps key on it).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    from . import models  # noqa: F401  (register every model with the metadata)
    from .db_setup import include_name as db_setup_include_name

    ext.db.init_app(app)
    ext.migrate.init_app(app, ext.db, directory=str(app.root_path + "/../migrations"),
                     render_as_batch=True, compare_type=True,
                     include_name=db_setup_include_name)
    ext.csrf.init_app(app)
    ext.htmx.init_app(app)
    ext.limiter.init_app(app)
    ext.login_manager.init_app(app)
    ext.login_manager.login_view = "accounts.login"
    ext.login_manager.login_message = "请先登录"
    ext.login_manager.login_message_category = "info"

    from .db_setup import init_db_events
    init_db_events(app)

    from .accounts import bp as accounts_bp
    from .admin import bp as admin_bp
    from .files import bp as files_bp
    from .main import bp as main_bp
    from .orgs import bp as orgs_bp
    from .sms import bp as sms_bp
    from .works import bp as works_bp
    from .cases import bp as cases_bp
    from .science_day import bp as science_day_bp
    from .job_routes import bp as jobs_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(sms_bp)
    app.register_blueprint(orgs_bp)
    app.register_blueprint(files_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(works_bp)
    app.register_blueprint(cases_bp)
    app.register_blueprint(science_day_bp)
    app.register_blueprint(jobs_bp)

    from .web import init_web
    init_web(app)

    from .sms.service import init_sms
    init_sms(app)

    from .files.storage import init_files
    init_files(app)

    # after the blueprints: their modules declare tasks and export kinds
    from .backup import register_tasks as register_backup_tasks
    from .jobs import init_jobs
    register_backup_tasks()
    init_jobs(app)

    from .cli import register_cli
    register_cli(app)
    return app
