"""The web application: public pages, the admin console and the JSON API.

``create_app(settings)`` does all the work; importing this module does none.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from tutela import __version__
from tutela.clock import Clock, SystemClock
from tutela.config import Settings
from tutela.dsr.watch import watch_statuses
from tutela.i18n import make_env
from tutela.storage import make_engine, make_session_factory
from tutela.web import problems
from tutela.web.admin.consent import router as admin_consent_router
from tutela.web.admin.notices import router as admin_notices_router
from tutela.web.admin.people import router as admin_people_router
from tutela.web.admin.ratelimit import LoginLimiter
from tutela.web.admin.requests import router as admin_requests_router
from tutela.web.admin.requests_actions import router as admin_requests_actions_router
from tutela.web.admin.retention import router as admin_retention_router
from tutela.web.admin.ropa import router as admin_ropa_router
from tutela.web.admin.routes import router as admin_router
from tutela.web.admin.suppressions import router as admin_suppressions_router
from tutela.web.api.consent import router as consent_api_router
from tutela.web.api.consent_bulk import router as consent_bulk_router
from tutela.web.api.newsletter import router as newsletter_api_router
from tutela.web.api.request_callbacks import router as request_callbacks_router
from tutela.web.api.requests import router as requests_api_router
from tutela.web.api.routes import router as api_router
from tutela.web.headers import SecurityHeaders
from tutela.web.public.banner import router as banner_router
from tutela.web.public.newsletter import router as newsletter_router
from tutela.web.public.requests import router as requests_router
from tutela.web.public.requests_verify import router as requests_verify_router
from tutela.web.public.routes import router as public_router
from tutela.web.public.unsubscribe import router as unsubscribe_router
from tutela.web.state import AppState, signing_key_for

STATIC_DIR = Path(__file__).with_name("static")
API_DESCRIPTION = (
    "Read published versions of the declaration and the statement in effect, and lint a "
    "declaration before publishing it. Every request needs an API key "
    "(`tutela apikey create --scope policy:read`) sent as `Authorization: Bearer tut_…`. "
    "Errors are RFC 9457 problem documents (`application/problem+json`)."
)


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    app.state.tutela.stopping.set()  # ends the status listener, if one was started


def create_app(
    settings: Settings, *, engine: Engine | None = None, clock: Clock | None = None
) -> FastAPI:
    """Build the app; the engine defaults to ``settings.resolved_database_url``."""
    engine = engine if engine is not None else make_engine(settings.resolved_database_url)
    clock = clock if clock is not None else SystemClock()
    watch_statuses()
    app = FastAPI(
        lifespan=_lifespan,
        title="Tutela API",
        version=__version__,
        description=API_DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    state = AppState(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        read_factory=make_session_factory(engine, read_only=True),
        clock=clock,
        templates=make_env(domain="messages"),
        login_limiter=LoginLimiter(clock=clock),
        signing_key=signing_key_for(settings),
    )
    app.state.tutela = state
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = state.session_factory
    app.state.clock = clock
    problems.install(app)
    app.add_middleware(SecurityHeaders, https=settings.secure_cookies)
    app.include_router(public_router)
    app.include_router(banner_router)
    app.include_router(newsletter_router)
    app.include_router(newsletter_api_router)
    app.include_router(unsubscribe_router)
    app.include_router(requests_router)
    app.include_router(requests_verify_router)
    app.include_router(admin_router)
    app.include_router(admin_consent_router)
    app.include_router(admin_suppressions_router)
    app.include_router(admin_requests_actions_router)
    app.include_router(admin_requests_router)
    app.include_router(admin_ropa_router)
    app.include_router(admin_notices_router)
    app.include_router(admin_people_router)
    app.include_router(admin_retention_router)
    app.include_router(api_router)
    app.include_router(consent_api_router)
    app.include_router(consent_bulk_router)
    app.include_router(request_callbacks_router)
    app.include_router(requests_api_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
