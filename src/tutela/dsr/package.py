"""Access, portability and CCPA "know": the person's data as one encrypted zip, and its download.

The handler reads every connected store (streamed), writes the zip
(:mod:`tutela.dsr.package_zip`) encrypted to ``<data_dir>/packages/`` and mails a
download link to the channel on file. The link's token is random, only its
digest is kept, it works once and for seven days. The zip holds:

* ``stores/<store>/<table>.json`` (a JSON array) and ``.csv`` per table;
* ``tutela.json`` — the identities and consent records Tutela itself holds;
* ``withheld.json`` — fields left out (secrets) or shown masked, and why;
* ``report.html`` — the Art. 15(1)(a)–(h) information in the request's language.

A store that is down raises (the job retries); a store that answered only in part
(a manual task) completes the request ``partially_fulfilled``.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tutela.audit import emit
from tutela.clock import Clock
from tutela.connectors import IdentitySet, StoreReport, Withheld
from tutela.connectors.report import Status as StoreStatus
from tutela.consent.declarations import CurrentPolicy, current_policy
from tutela.consent.receipts import receipts
from tutela.crypto import DecryptionError, random_token, token_digest
from tutela.dsr.envelope import open_identity
from tutela.dsr.events import PackageDownloaded, PackageIssued, RequestHeld
from tutela.dsr.fulfilment import Fulfilment, handles
from tutela.dsr.jobs import installed_runtime
from tutela.dsr.models import DsrRequest
from tutela.dsr.notices import find_on_file, notice_context, policy_facts, send_mail
from tutela.dsr.package_cipher import open_key, read_sealed, seal_key
from tutela.dsr.package_models import DsrPackage, sweep_packages
from tutela.dsr.package_report import ReportFacts, render_report
from tutela.dsr.package_zip import PackageWriter
from tutela.dsr.terms import Outcome, RequestType, Status
from tutela.dsr.workflow import SYSTEM_ACTOR, complete, start
from tutela.errors import Conflict, NotFound
from tutela.subjects import Subject, identities

__all__ = [
    "DOWNLOAD_PATH",
    "PACKAGE_LIFETIME",
    "PackageInfo",
    "download_url",
    "fulfil_access",
    "open_download",
    "peek_download",
    "sweep_packages",
]

PACKAGE_LIFETIME: Final = dt.timedelta(days=7)
DOWNLOAD_PATH: Final = "/requests/download/"
PACKAGE_TEMPLATE: Final = "dsr_package"
HELD_NO_CHANNEL: Final = "no_channel_on_file"
_SUFFIX: Final = ".tpkg"
_UNKNOWN: Final = (
    "token: this download link is not valid, was used already or has expired; ask for "
    "your data again or contact us."
)


@dataclass(frozen=True, slots=True)
class PackageInfo:
    """What the download page shows about a package (no personal data)."""

    package_id: int
    request_id: int
    reference: str
    language: str
    download_name: str
    """The file name to offer the browser, e.g. ``DSR-XXXX-XXXX-XXXX.zip``."""
    size: int
    """Bytes of the zip as sent."""
    created_at: dt.datetime
    expires_at: dt.datetime


def download_url(base_url: str, token: str) -> str:
    """``<base_url>/requests/download/<token>``."""
    return base_url.rstrip("/") + DOWNLOAD_PATH + token


def _identities(session: Session, fulfilment: Fulfilment, subject: Subject | None) -> IdentitySet:
    request = fulfilment.request
    pairs: list[tuple[str, str]] = []
    named = open_identity(request, master=fulfilment.runtime.master)
    if named is not None:
        pairs.append((request.identity_kind, named))
    if subject is not None:
        master = fulfilment.runtime.master
        pairs.extend(
            (kind.value, value)
            for kind, value in identities(session, subject=subject, master=master)
        )
    return IdentitySet.from_pairs(pairs)


def _policy(session: Session, clock: Clock) -> CurrentPolicy | None:
    try:
        return current_policy(session, clock=clock)
    except Conflict:
        return None


def _own_data(
    session: Session, fulfilment: Fulfilment, subject: Subject | None, policy: CurrentPolicy | None
) -> dict[str, Any]:
    document: dict[str, Any] = {"identities": [], "consent": None}
    if subject is None or subject.erased_at is not None:
        return document
    master = fulfilment.runtime.master
    document["identities"] = [
        {"kind": kind.value, "value": value}
        for kind, value in identities(session, subject=subject, master=master)
    ]
    if policy is not None:
        document["consent"] = receipts(
            session, subject=subject, master=master, clock=fulfilment.clock, policy=policy
        )
    return document


def _summary(report: StoreReport) -> dict[str, Any]:
    """What the request row keeps of a store's answer: names, status, counts; no values."""
    return {
        "store": report.store,
        "operation": report.operation.value,
        "status": report.status.value,
        "rows": dict(report.rows),
        "withheld": sorted(
            {
                f"{o.table}.{f}"
                for o in report.outcomes
                if o.action.value == "withheld"
                for f in o.fields
            }
        ),
        "task": report.task is not None,
    }


def _write(
    fulfilment: Fulfilment,
    ids: IdentitySet,
    path: Path,
    own: dict[str, Any],
    policy: CurrentPolicy | None,
) -> tuple[int, bytes, list[StoreReport]]:
    """Write the package to ``path``; return its zip size, its key and the stores' reports."""
    request = fulfilment.request
    reports: list[StoreReport] = []
    withheld: list[tuple[str, Withheld]] = []
    with path.open("xb") as target:
        writer = PackageWriter(target, scratch_dir=path.parent)
        try:
            for store in fulfilment.stores:
                with store.access(ids) as result:
                    writer.add_store(result)
                    reports.append(result.report())
                    withheld.extend((store.name, entry) for entry in result.withheld)
            writer.add_json("tutela.json", own)
            writer.add_json(
                "withheld.json",
                [
                    {
                        "store": store,
                        "table": entry.table,
                        "field": entry.field,
                        "masked": entry.masked,
                        "reason": entry.reason,
                    }
                    for store, entry in withheld
                ],
            )
            facts = ReportFacts(
                reference=request.reference,
                request_type=request.request_type,
                language=request.language,
                generated_at=fulfilment.clock.now(),
                reports=reports,
                withheld=withheld,
                files=tuple(writer.names()),
            )
            declaration = policy.declaration if policy is not None else None
            writer.add_bytes("report.html", render_report(facts, declaration).encode("utf-8"))
            size = writer.close()
        except BaseException:
            writer.abort()
            raise
    return size, writer.sealed.key, reports


def _hold(fulfilment: Fulfilment, why: str) -> None:
    request = fulfilment.request
    if request.status == Status.VERIFIED.value:
        start(fulfilment.session, request=request, actor=SYSTEM_ACTOR, clock=fulfilment.clock)
    request.last_error = (
        "There is no email address on file to send the download link to; hand the copy "
        "over another way and complete the request."
    )
    event = RequestHeld(request_id=request.id, subject_id=request.subject_id, why=why)
    emit(fulfilment.session, event, actor=SYSTEM_ACTOR, clock=fulfilment.clock)


@handles(RequestType.ACCESS, RequestType.PORTABILITY, RequestType.KNOW)
def fulfil_access(fulfilment: Fulfilment) -> None:
    """Collect the person's data from every store into one package and mail the link."""
    session, request, clock = fulfilment.session, fulfilment.request, fulfilment.clock
    runtime = fulfilment.runtime
    subject = None if request.subject_id is None else session.get(Subject, request.subject_id)
    on_file = find_on_file(session, request=request, subject=subject, runtime=runtime)
    if on_file.address is None:
        _hold(fulfilment, HELD_NO_CHANNEL)
        return
    folder = runtime.settings.packages_dir
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    file_name = secrets.token_hex(16) + _SUFFIX
    path = folder / file_name
    policy = _policy(session, clock)
    own = _own_data(session, fulfilment, subject, policy)
    try:
        ids = _identities(session, fulfilment, subject)
        size, key, reports = _write(fulfilment, ids, path, own, policy)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    token = random_token()
    now = clock.now()
    package = DsrPackage(
        request_id=request.id,
        file_name=file_name,
        sealed_key=seal_key(runtime.master, key, file_name=file_name),
        size=size,
        token_digest=token_digest(token),
        created_at=now,
        expires_at=now + PACKAGE_LIFETIME,
    )
    session.add(package)
    session.flush()
    facts = policy_facts(session, settings=runtime.settings, clock=clock)
    message_id = send_mail(
        to=on_file.address,
        template=PACKAGE_TEMPLATE,
        language=request.language,
        context=notice_context(
            request,
            facts,
            download_url=download_url(runtime.settings.base_url, token),
            expires_on=package.expires_at.date(),
            valid_days=PACKAGE_LIFETIME.days,
        ),
        clock=clock,
    )
    request.store_results = json.dumps([_summary(r) for r in reports], sort_keys=True)
    request.last_error = None
    partial = any(r.status is not StoreStatus.DONE for r in reports)
    outcome = Outcome.PARTIALLY_FULFILLED if partial else Outcome.FULFILLED
    issued = PackageIssued(
        request_id=request.id,
        outcome=outcome.value,
        package_id=package.id,
        size=size,
        expires_at=package.expires_at,
        delivered=True,
        message_id=message_id,
    )
    complete(
        session, request=request, actor=SYSTEM_ACTOR, clock=clock, outcome=outcome, event=issued
    )


# ---------------------------------------------------------------- downloads


def _find(session: Session, token: str, clock: Clock) -> DsrPackage:
    digest = token_digest(token) if 16 <= len(token) <= 200 and token.isascii() else ""
    package = (
        session.scalars(select(DsrPackage).where(DsrPackage.token_digest == digest)).one_or_none()
        if digest
        else None
    )
    if package is None or package.downloaded_at is not None or clock.now() >= package.expires_at:
        raise NotFound(_UNKNOWN, field="token")
    return package


def _info(session: Session, package: DsrPackage) -> PackageInfo:
    request = session.get(DsrRequest, package.request_id)
    if request is None:  # pragma: no cover - the row cascades with its request
        raise NotFound(_UNKNOWN, field="token")
    return PackageInfo(
        package_id=package.id,
        request_id=request.id,
        reference=request.reference,
        language=request.language,
        download_name=f"{request.reference}.zip",
        size=package.size,
        created_at=package.created_at,
        expires_at=package.expires_at,
    )


def peek_download(session: Session, *, token: str, clock: Clock) -> PackageInfo:
    """The package behind a download token; :class:`NotFound` (always alike) otherwise."""
    return _info(session, _find(session, token, clock))


def open_download(
    session: Session, *, token: str, clock: Clock, actor: str
) -> tuple[PackageInfo, Iterator[bytes]]:
    """Use the token (once, in the caller's transaction), audit it, stream the zip's bytes.

    Needs the request runtime of the process (:func:`tutela.dsr.jobs.install_runtime`)
    for the master key and the data directory.
    """
    runtime = installed_runtime()
    package = _find(session, token, clock)
    info = _info(session, package)
    path = runtime.settings.packages_dir / package.file_name
    if not path.is_file():
        raise NotFound(_UNKNOWN, field="token")
    try:
        key = open_key(runtime.master, package.sealed_key, file_name=package.file_name)
    except DecryptionError:
        raise NotFound(_UNKNOWN, field="token") from None
    now = clock.now()
    claimed = session.connection().execute(
        update(DsrPackage)
        .where(
            DsrPackage.id == package.id,
            DsrPackage.downloaded_at.is_(None),
            DsrPackage.expires_at > now,
        )
        .values(downloaded_at=now)
    )
    if claimed.rowcount != 1:  # another download took it first (the row is locked now)
        raise NotFound(_UNKNOWN, field="token")
    session.expire(package, ["downloaded_at"])
    event = PackageDownloaded(request_id=package.request_id, package_id=package.id)
    emit(session, event, actor=actor, clock=clock)
    return info, read_sealed(path, key)
