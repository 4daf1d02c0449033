"""Errors of outbound mail: a message refused before sending, or a failed delivery."""

from __future__ import annotations

from tutela.errors import PolicyViolation, TutelaError


class UnsubscribeMissing(PolicyViolation):
    """A marketing mail lacks the one-click unsubscribe headers or the visible link."""

    code = "unsubscribe-missing"
    title = "A marketing mail needs an unsubscribe route"


class MailDeliveryFailed(TutelaError):
    """The mail server did not accept the message, or could not be reached."""

    status = 502
    code = "mail-delivery-failed"
    title = "The mail could not be delivered"
