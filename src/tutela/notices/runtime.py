"""What the notice jobs of this process need: the master key, the settings, the audience.

The process running the worker installs it once at start-up::

    install_runtime(NoticeRuntime(master=master_key, settings=settings))

Mail goes out through the delivery installed for the ``mail.send`` job
(:func:`tutela.mail.install_delivery`). Nothing is installed at import time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from tutela.config import Settings
from tutela.crypto import MasterKey
from tutela.errors import ConfigurationError
from tutela.mail import installed_delivery
from tutela.notices.audience import AudienceSpec, load_audience
from tutela.notices.delivery import Sender

__all__ = ["NoticeRuntime", "install_runtime", "installed_runtime"]


@dataclass(frozen=True, kw_only=True)
class NoticeRuntime:
    """The master key, the settings and (optionally fixed) audience tables."""

    master: MasterKey
    settings: Settings
    audience: tuple[AudienceSpec, ...] | None = None

    def audience_specs(self) -> tuple[AudienceSpec, ...]:
        """The fixed audience, or the one the settings' files describe now."""
        if self.audience is not None:
            return self.audience
        return load_audience(self.settings, master=self.master)

    def sender(self) -> Sender:
        """The installed mail delivery, with links to this installation's statement."""
        delivery = installed_delivery()
        return Sender(
            mailer=delivery.mailer,
            sender=delivery.sender,
            message_id_domain=delivery.message_id_domain,
            base_url=self.settings.base_url,
        )


_lock = threading.Lock()
_runtime: NoticeRuntime | None = None


def install_runtime(runtime: NoticeRuntime | None) -> NoticeRuntime | None:
    """Give the notice jobs of this process their runtime; return the previous one."""
    global _runtime
    with _lock:
        previous, _runtime = _runtime, runtime
    return previous


def installed_runtime() -> NoticeRuntime:
    """The installed runtime; :class:`ConfigurationError` when none is."""
    runtime = _runtime
    if runtime is None:
        raise ConfigurationError(
            "The policy-change notice jobs need the master key and settings; call "
            "tutela.notices.install_runtime(NoticeRuntime(master=..., settings=...)) when "
            "starting the worker."
        )
    return runtime
