"""Objection (Art. 21), consent withdrawal (Art. 7(3)) and the CCPA opt-outs, in the ledger.

Which purposes a request covers comes from the declaration in effect:

* objection, scope ``marketing``: every direct-marketing purpose; otherwise every
  purpose based on legitimate interests (and public task);
* withdrawal, scope ``marketing``: the consent purposes that are direct
  marketing; otherwise every consent purpose;
* CCPA opt-out of sale/sharing: purposes whose recipients sell or share, or that
  cookies of a category a GPC signal refuses serve (as the banner decides);
* CCPA limit: purposes with an Art. 9 ground or a special data category.

A person Tutela knows gets one ledger event per purpose (``objected``,
``withdrawn`` or ``refused``). A person Tutela does not know yet has the request's
address listed for those purposes (or all direct marketing), so the objection
holds when the address turns up later.
"""

from __future__ import annotations

from typing import Final

from tutela.consent.banner import gpc_categories
from tutela.consent.declarations import CurrentPolicy, current_policy
from tutela.consent.ledger import record
from tutela.consent.proof import Proof
from tutela.consent.suppression import OBJECTION, suppress_indexes
from tutela.consent.terms import DIRECT_MARKETING, Action
from tutela.consent.terms import Channel as ConsentChannel
from tutela.dsr.answers import Run, answer, channel_of, hold_open
from tutela.dsr.fulfilment import Fulfilment, handles
from tutela.dsr.person import person_of
from tutela.dsr.terms import Channel, RequestType, Scope
from tutela.dsr.workflow import SYSTEM_ACTOR
from tutela.errors import Conflict
from tutela.policy.models import Declaration, LegalBasis, Purpose
from tutela.policy.taxonomy import load_taxonomy

__all__ = ["covered_purposes", "fulfil_objection"]

_CHANNELS: Final = {
    Channel.WEB_FORM: ConsentChannel.WEB_FORM,
    Channel.API: ConsentChannel.API,
    Channel.IN_APP: ConsentChannel.API,
    Channel.EMAIL: ConsentChannel.EMAIL,
    Channel.LETTER: ConsentChannel.LETTER,
    Channel.FAX: ConsentChannel.FAX,
    Channel.PHONE: ConsentChannel.PHONE,
}
_ACTIONS: Final = {
    RequestType.OBJECTION: Action.OBJECTED,
    RequestType.CONSENT_WITHDRAWAL: Action.WITHDRAWN,
    RequestType.OPT_OUT_SALE_SHARE: Action.REFUSED,
    RequestType.LIMIT_SENSITIVE: Action.REFUSED,
}
_OBJECTABLE: Final = (LegalBasis.LEGITIMATE_INTERESTS, LegalBasis.PUBLIC_TASK)


def _sells_or_shares(declaration: Declaration, purpose: Purpose) -> bool:
    for recipient_id in purpose.recipients:
        recipient = declaration.recipient(recipient_id)
        if recipient is not None and recipient.sells_or_shares:
            return True
    refused = set(gpc_categories(declaration))
    for cookie in declaration.cookies:
        if cookie.purpose != purpose.id:
            continue
        provider = declaration.recipient(cookie.provider) if cookie.provider else None
        if cookie.category.value in refused or (provider is not None and provider.sells_or_shares):
            return True
    return False


def _sensitive(declaration: Declaration, purpose: Purpose) -> bool:
    if purpose.special_category_ground is not None:
        return True
    taxonomy = load_taxonomy()
    for key in purpose.categories.all():
        declared = declaration.category(key)
        if declared is not None and declared.special is not None:
            if declared.special:
                return True
        elif taxonomy.is_special(key):
            return True
    return False


def covered_purposes(
    declaration: Declaration, request_type: RequestType, scope: Scope
) -> list[Purpose]:
    """The purposes a request of ``request_type`` and ``scope`` is about (see the module)."""
    marketing = scope is Scope.MARKETING
    found: list[Purpose] = []
    for purpose in declaration.purposes:
        if request_type is RequestType.OBJECTION:
            wanted = (
                purpose.is_direct_marketing if marketing else purpose.legal_basis in _OBJECTABLE
            )
        elif request_type is RequestType.CONSENT_WITHDRAWAL:
            wanted = purpose.legal_basis is LegalBasis.CONSENT and (
                purpose.is_direct_marketing or not marketing
            )
        elif request_type is RequestType.OPT_OUT_SALE_SHARE:
            wanted = _sells_or_shares(declaration, purpose)
        else:
            wanted = _sensitive(declaration, purpose)
        if wanted:
            found.append(purpose)
    return found


def _scopes(request_type: RequestType, scope: Scope, purposes: list[Purpose]) -> list[str]:
    """Suppression scopes for an address Tutela does not know."""
    if request_type is RequestType.OBJECTION and scope is Scope.MARKETING:
        return [DIRECT_MARKETING]
    return [purpose.id for purpose in purposes]


@handles(
    RequestType.OBJECTION,
    RequestType.CONSENT_WITHDRAWAL,
    RequestType.OPT_OUT_SALE_SHARE,
    RequestType.LIMIT_SENSITIVE,
)
def fulfil_objection(fulfilment: Fulfilment) -> None:
    """Record the objection, withdrawal or opt-out for every purpose it covers, then answer."""
    request, session, clock = fulfilment.request, fulfilment.session, fulfilment.clock
    if not request.is_open:
        return
    request_type, scope = RequestType(request.request_type), Scope(request.scope)
    person = person_of(session, request=request, master=fulfilment.runtime.master)
    on_file = channel_of(fulfilment, person.subject)
    run = Run()
    try:
        policy: CurrentPolicy | None = current_policy(session, clock=clock)
    except Conflict:
        policy = None
    if policy is None:
        run.unhandled.append("no declaration is in effect, so no purpose can be named")
        hold_open(fulfilment, run)
        return
    purposes = covered_purposes(policy.declaration, request_type, scope)
    if person.subject is not None:
        proof = Proof(
            channel=_CHANNELS[Channel(request.channel)],
            language=request.language,
            extra={"request": request.reference},
        )
        for purpose in purposes:
            record(
                session,
                subject=person.subject,
                purpose_id=purpose.id,
                action=_ACTIONS[request_type],
                proof=proof,
                master=fulfilment.runtime.master,
                clock=clock,
                actor=SYSTEM_ACTOR,
                policy=policy,
            )
    else:
        for name in _scopes(request_type, scope, purposes):
            suppress_indexes(
                session,
                pairs=person.indexes,
                scope=name,
                reason=OBJECTION,
                clock=clock,
                actor=SYSTEM_ACTOR,
            )
    run.extra.update(
        purposes=[purpose.id for purpose in purposes],
        ledger="recorded" if person.subject is not None else "suppressed",
    )
    language = request.language
    answer(
        fulfilment,
        run,
        on_file=on_file,
        purposes=[purpose.name.get(language) for purpose in purposes],
    )
