"""The webhook connector: a processor told by a signed HTTP request, confirming later.

A processor (a newsletter service, a CRM vendor) holds data on the controller's
behalf; Tutela cannot reach its database, so it sends each request to the
processor's endpoint in the shape of OpenDSR v2 and waits for the processor to
confirm. The connector is stateless:

* inside a named request (:func:`on_behalf_of`) it first asks ``GET {url}/{id}``
  where the request stands, so a retry or the run after the processor confirmed
  does not send it twice: ``completed`` is ``done`` at once, ``pending`` and
  ``in_progress`` keep waiting, ``cancelled`` fails for good; a processor that does
  not know the id (4xx) is sent the request; one that cannot be asked is down;
* ``POST {url}`` with the signed request (see :mod:`webhook_message`);
* 201/202: accepted — a ``partial`` report that stays open (``not_handled``:
  waiting for the processor), so the request is not completed before the
  processor confirms through the callback endpoint or :meth:`status`;
* 200 with ``request_status: completed``: done at once; for ``access`` a
  ``results`` array is returned as records of a table named after the processor;
* network errors, 408, 429 and 5xx: ``failed`` and retryable; other 4xx: ``failed``
  for good, naming what the processor answered (identity values removed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx

from tutela.clock import Clock, SystemClock
from tutela.connectors.base import AccessResult, Record, StoreError, StoreUnavailable
from tutela.connectors.builtin.webhook_config import WebhookConfig, parse_config, secret_of
from tutela.connectors.builtin.webhook_message import (
    REQUEST_ID_HEADER,
    SIGNATURE_HEADER,
    CallbackRejected,
    CallbackStatus,
    bound_request,
    fallback_request_id,
    parse_status,
    request_body,
    sign,
    subject_request_id,
    verify_callback,
)
from tutela.connectors.identities import IdentitySet
from tutela.connectors.report import Action, Operation, Outcome, StoreReport

__all__ = ["WebhookConfig", "WebhookConnector", "create_webhook"]

MAX_ANSWER: Final = 200
_RETRYABLE_4XX: Final = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class _Answer:
    request_id: str
    response: httpx.Response | None = None
    error: str | None = None


def _scrub(text: str, identities: IdentitySet) -> str:
    """The processor's answer, one line, without any identity value, truncated."""
    line = " ".join(text.split())
    for _, value in identities.pairs():
        if value:
            line = line.replace(value, "[identity]")
    return line[:MAX_ANSWER] + ("…" if len(line) > MAX_ANSWER else "")


class WebhookConnector:
    """A processor reached through its OpenDSR-style HTTP endpoint."""

    def __init__(
        self,
        *,
        name: str,
        url: str,
        secret: bytes,
        timeout: float = 10.0,
        regulation: str = "gdpr",
        callback_url: str | None = None,
        processor: str | None = None,
        recipient: str | None = None,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._name = name
        self._url = url.rstrip("/")
        self._secret = secret
        self._timeout = timeout
        self._regulation = regulation
        self._callbacks = (callback_url,) if callback_url else ()
        self._processor = processor or name
        self._recipient = recipient
        self._clock: Clock = clock or SystemClock()
        self._transport = transport

    @property
    def name(self) -> str:
        return self._name

    @property
    def processor(self) -> str:
        return self._processor

    @property
    def recipient(self) -> str | None:
        """The declaration's recipient id this processor is (told under Art. 19), if any."""
        return self._recipient

    def __repr__(self) -> str:
        return f"WebhookConnector(name={self._name!r}, url={self._url!r})"

    def _client(self) -> httpx.Client:
        return httpx.Client(timeout=self._timeout, transport=self._transport)

    def _headers(self, body: bytes, request_id: str) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body, secret=self._secret, now=self._clock.now()),
            REQUEST_ID_HEADER: request_id,
        }

    def request_id(self, operation: Operation, identities: IdentitySet) -> str:
        """The ``subject_request_id`` sent for this operation (stable across retries)."""
        bound = bound_request()
        if bound is not None:
            return subject_request_id(bound.reference)
        return fallback_request_id(self._secret, operation, identities)

    def _send(
        self,
        operation: Operation,
        identities: IdentitySet,
        extension: dict[str, Any] | None = None,
    ) -> _Answer:
        bound = bound_request()
        request_id = self.request_id(operation, identities)
        submitted = bound.submitted if bound and bound.submitted else self._clock.now()
        body = request_body(
            request_id=request_id,
            operation=operation,
            identities=identities,
            regulation=self._regulation,
            submitted=submitted,
            callback_urls=self._callbacks,
            extension=extension,
        )
        try:
            with self._client() as client:
                response = client.post(
                    self._url, content=body, headers=self._headers(body, request_id)
                )
        except httpx.HTTPError as error:
            reason = f"{type(error).__name__} reaching {self._processor}"
            return _Answer(request_id, error=reason)
        return _Answer(request_id, response=response)

    def _report(
        self, operation: Operation, identities: IdentitySet, answer: _Answer
    ) -> StoreReport:
        response = answer.response
        if response is None:
            text = f"{answer.error}; tried again later"
            return StoreReport.failure(self._name, operation, text, retryable=True)
        code = response.status_code
        if code >= 500 or code in _RETRYABLE_4XX:
            text = f"{self._processor} answered HTTP {code}; tried again later"
            return StoreReport.failure(self._name, operation, text, retryable=True)
        if code >= 300:
            said = _scrub(response.text, identities) or "no text"
            text = (
                f"{self._processor} refused the request with HTTP {code} ({said}); check the "
                "store's url, secret and the identities it supports"
            )
            return StoreReport.failure(self._name, operation, text)
        if code == 200 and _completed(response):
            return StoreReport.build(self._name, operation, [self._confirmed(answer.request_id)])
        return self._waiting(operation, answer.request_id)

    def _confirmed(self, request_id: str) -> Outcome:
        return Outcome(
            table=self._processor,
            action=Action.TASK,
            reason=f"{self._processor} confirmed request {request_id}",
        )

    def _standing(self, operation: Operation, known: CallbackStatus) -> StoreReport:
        """The report for a request the processor already has (nothing is sent again)."""
        request_id = known.subject_request_id
        if known.request_status == "completed":
            return StoreReport.build(self._name, operation, [self._confirmed(request_id)])
        if known.request_status == "cancelled":
            text = f"{self._processor} cancelled request {request_id}; staff must follow up"
            return StoreReport.failure(self._name, operation, text)
        return self._waiting(operation, request_id)

    def _known(self, request_id: str) -> CallbackStatus | str | None:
        """Where the processor says the request stands; ``None`` if it does not know it.

        A text says why the processor could not be asked (retryable).
        """
        answer = self._poll(request_id)
        if isinstance(answer, str):
            return answer
        try:
            return self._parse_status(request_id, answer)
        except StoreError:
            return None  # not known there (or not readable): send the request

    def _carry_out(
        self,
        operation: Operation,
        identities: IdentitySet,
        extension: dict[str, Any] | None = None,
    ) -> StoreReport:
        if bound_request() is not None:
            known = self._known(self.request_id(operation, identities))
            if isinstance(known, str):
                text = f"{known}; tried again later"
                return StoreReport.failure(self._name, operation, text, retryable=True)
            if known is not None:
                return self._standing(operation, known)
        answer = self._send(operation, identities, extension)
        return self._report(operation, identities, answer)

    def _waiting(self, operation: Operation, request_id: str) -> StoreReport:
        task = f"waiting for {self._processor} to confirm request {request_id}"
        outcome = Outcome(table=self._processor, action=Action.NOT_HANDLED, reason=task)
        return StoreReport.build(self._name, operation, [outcome], task=task)

    def check(self) -> None:
        """Reachable when the endpoint answers at all below HTTP 500."""
        try:
            with self._client() as client:
                response = client.get(self._url)
        except httpx.HTTPError as error:
            raise StoreUnavailable(
                f"store {self._name}: {self._processor} cannot be reached "
                f"({type(error).__name__}); check the url and the network."
            ) from None
        if response.status_code >= 500:
            raise StoreUnavailable(
                f"store {self._name}: {self._processor} answered HTTP {response.status_code}."
            )

    def access(self, identities: IdentitySet) -> AccessResult:
        """Ask the processor for the person's data; it delivers later unless it answers inline.

        Outside a request named by ``on_behalf_of`` (for example while looking up
        whether a store knows an address) the processor is not contacted.
        """
        if bound_request() is None:
            task = f"{self._processor} is asked only while a verified request is carried out"
            outcome = Outcome(table=self._processor, action=Action.NOT_HANDLED, reason=task)
            return AccessResult(self._name, iter(()), outcomes=[outcome], task=task)
        request_id = self.request_id(Operation.ACCESS, identities)
        known = self._known(request_id)
        if isinstance(known, str):
            raise StoreUnavailable(f"store {self._name}: {known}; tried again later.")
        if known is not None:
            return self._access_standing(known)
        answer = self._send(Operation.ACCESS, identities)
        report = self._report(Operation.ACCESS, identities, answer)
        if report.error:
            if report.retryable:
                raise StoreUnavailable(f"store {self._name}: {report.error}.")
            raise StoreError(f"store {self._name}: {report.error}.")
        response = answer.response
        results = _results(response) if response is not None else None
        if results is not None:
            return AccessResult(self._name, self._records(results))
        return self._access_waiting(answer.request_id)

    def _access_waiting(self, request_id: str) -> AccessResult:
        task = (
            f"{self._processor} delivers the person's data itself; waiting for it to "
            f"confirm request {request_id}"
        )
        outcome = Outcome(table=self._processor, action=Action.NOT_HANDLED, reason=task)
        return AccessResult(self._name, iter(()), outcomes=[outcome], task=task)

    def _access_standing(self, known: CallbackStatus) -> AccessResult:
        request_id = known.subject_request_id
        if known.request_status == "completed":
            outcomes = [self._confirmed(request_id)]
            return AccessResult(self._name, iter(()), outcomes=outcomes)
        if known.request_status == "cancelled":
            raise StoreError(
                f"store {self._name}: {self._processor} cancelled request {request_id}; "
                "staff must follow up."
            )
        return self._access_waiting(request_id)

    def _records(self, results: list[dict[str, Any]]) -> Iterator[Record]:
        for row in results:
            yield Record(self._processor, dict(row))

    def erase(self, identities: IdentitySet, *, today: dt.date) -> StoreReport:
        return self._carry_out(Operation.ERASE, identities)

    def rectify(self, identities: IdentitySet, changes: Mapping[str, object]) -> StoreReport:
        extension = {"changes": {str(key): value for key, value in changes.items()}}
        return self._carry_out(Operation.RECTIFY, identities, extension)

    def restrict(self, identities: IdentitySet, *, until: dt.date | None) -> StoreReport:
        extension = {"until": until.isoformat() if until else None}
        return self._carry_out(Operation.RESTRICT, identities, extension)

    def _poll(self, request_id: str) -> httpx.Response | str:
        """The answer to ``GET {url}/{id}``, or why the processor could not be asked."""
        try:
            with self._client() as client:
                response = client.get(
                    f"{self._url}/{request_id}", headers=self._headers(b"", request_id)
                )
        except httpx.HTTPError as error:
            return f"{type(error).__name__} reaching {self._processor}"
        code = response.status_code
        if code >= 500 or code in _RETRYABLE_4XX:
            return f"{self._processor} answered HTTP {code} when asked about request {request_id}"
        return response

    def _parse_status(self, request_id: str, response: httpx.Response) -> CallbackStatus:
        if response.status_code != 200:
            raise StoreError(
                f"store {self._name}: {self._processor} answered HTTP {response.status_code} "
                f"for request {request_id}; check that it was sent to this processor."
            )
        try:
            found = parse_status(response.json())
        except (ValueError, CallbackRejected) as error:
            raise StoreError(
                f"store {self._name}: {self._processor} sent a status Tutela cannot read ({error})."
            ) from None
        if found.subject_request_id != request_id:
            raise StoreError(
                f"store {self._name}: {self._processor} answered about request "
                f"{found.subject_request_id} when asked about {request_id}; check its status route."
            )
        return found

    def status(self, request_id: str) -> CallbackStatus:
        """Poll ``GET {url}/{subject_request_id}`` (signed over an empty body).

        :class:`StoreUnavailable` when the processor cannot be asked (no connection,
        408, 429, 5xx); :class:`StoreError` when it does not know the id (other
        answers than 200) or sends a status Tutela cannot read.
        """
        answer = self._poll(request_id.strip().lower())
        if isinstance(answer, str):
            raise StoreUnavailable(f"store {self._name}: {answer}; ask again later.")
        return self._parse_status(request_id.strip().lower(), answer)

    def verify_callback(self, body: bytes, header: str, *, now: dt.datetime) -> CallbackStatus:
        """A callback from this processor, checked with the store's secret."""
        return verify_callback(body, header, secret=self._secret, now=now)

    def close(self) -> None:
        """Nothing is kept open between calls."""


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _completed(response: httpx.Response) -> bool:
    data = _json(response)
    return isinstance(data, dict) and data.get("request_status") == "completed"


def _results(response: httpx.Response) -> list[dict[str, Any]] | None:
    data = _json(response)
    if response.status_code != 200 or not isinstance(data, dict):
        return None
    results = data.get("results")
    if not isinstance(results, list) or not all(isinstance(row, dict) for row in results):
        return None
    return results


def create_webhook(config: Mapping[str, Any]) -> WebhookConnector:
    """The ``webhook`` factory: ``{"name", "url", "secret" | "secret_file", …}``.

    A relative ``secret_file`` is taken from the working folder here; the stores
    file resolves it against its own folder first.
    """
    given = dict(config)
    # Objects only code can pass (tests, embedding); from a YAML file they are unknown keys.
    clock = given.pop("clock") if callable(getattr(given.get("clock"), "now", None)) else None
    transport = given.get("transport")
    if isinstance(transport, httpx.BaseTransport):
        given.pop("transport")
    else:
        transport = None
    parsed = parse_config(given)
    return WebhookConnector(
        name=parsed.name,
        url=parsed.url,
        secret=secret_of(parsed),
        timeout=parsed.timeout,
        regulation=parsed.regulation,
        callback_url=parsed.callback_url,
        processor=parsed.processor,
        recipient=parsed.recipient,
        clock=clock,
        transport=transport,
    )
