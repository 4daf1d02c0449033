"""One-click unsubscribe (RFC 8058) and the preferences page behind every unsubscribe link.

``POST /u/{token}`` needs no cookie, never redirects and answers 200, whatever the
body encoding; ``GET /u/{token}`` only shows the page with a button. Every bad,
expired or unknown token gets the same 404 page.
"""

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from tutela.consent import double_opt_in as doi
from tutela.consent import unsubscribe as unsub
from tutela.consent.terms import Channel
from tutela.storage import transaction
from tutela.web.pages import page_language
from tutela.web.public.newsletter import (
    MAX_FORM,
    NO_STORE,
    UNSUBSCRIBED,
    NewsletterState,
    _body,
    _client_ip,
    _form,
    _newsletter,
    _not_found,
    _page,
    _text,
    translate,
)
from tutela.web.state import AppState

router = APIRouter()


# ---------------------------------------------------------------- unsubscribe


def _preferences_page(
    request: Request,
    state: AppState,
    news: NewsletterState,
    token: str,
    language: str,
    done: bool = False,
) -> Response:
    with transaction(state.read_factory) as session:
        link, found = unsub.preferences(session, token=token, master=news.master, clock=state.clock)
    items = [
        {
            "id": p.purpose.id,
            "name": p.purpose.name.get(language),
            "description": p.purpose.description.get(language),
            "active": p.active,
            "listed": p.purpose.id == link.purpose_id,
        }
        for p in found
    ]
    listed = next((item for item in items if item["listed"]), None)
    context = {"items": items, "listed": listed, "done": done, "action": request.url.path}
    return _page(request, "public/unsubscribe_page.html.j2", language, context)


@router.get("/u/{token}", include_in_schema=False)
def unsubscribe_page(request: Request, token: str) -> Response:
    """The person's choices and a button to unsubscribe; opening it changes nothing."""
    state, news = _newsletter(request)
    language = page_language(request)
    try:
        return _preferences_page(request, state, news, token, language)
    except doi.UnknownLink:
        return _not_found(request, language)


def _unsubscribed(request: Request, token: str, form: FormData) -> Response:
    state, news = _newsletter(request)
    asked = _text(form, "lang")
    language = asked if asked in ("de", "en") else page_language(request)
    from_page = _text(form, "source") == "page"
    try:
        with transaction(state.session_factory) as session:
            purpose_ids: list[str] | None = None
            if _text(form, "preferences"):
                _link, found = unsub.preferences(
                    session, token=token, master=news.master, clock=state.clock
                )
                keep = {value for value in form.getlist("keep") if isinstance(value, str)}
                purpose_ids = [p.purpose.id for p in found if p.active and p.purpose.id not in keep]
            unsub.stop(
                session,
                token=token,
                master=news.master,
                clock=state.clock,
                channel=Channel.LINK_IN_MESSAGE if from_page else Channel.ONE_CLICK,
                purpose_ids=purpose_ids,
                language=language,
                ip=_client_ip(request),
                user_agent=request.headers.get("user-agent"),
            )
    except doi.UnknownLink:
        return _not_found(request, page_language(request))
    if from_page:
        return _preferences_page(request, state, news, token, language, done=True)
    headers = {**NO_STORE, "Content-Language": language}
    return PlainTextResponse(translate(UNSUBSCRIBED, language) + "\n", headers=headers)


@router.post("/u/{token}", include_in_schema=False)
async def unsubscribe_post(request: Request, token: str) -> Response:
    """RFC 8058 one-click unsubscribe (``List-Unsubscribe=One-Click``, urlencoded or
    multipart), and the forms of the page. Always 200 without redirect or cookie."""
    body = await _body(request, MAX_FORM)
    if body is None:
        return PlainTextResponse("Request too large.\n", status_code=413, headers=NO_STORE)
    form = await _form(request, body)
    return await run_in_threadpool(_unsubscribed, request, token, form)
