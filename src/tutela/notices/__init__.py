"""Policy-change notices: who is told about a new version, in which language, and when.

When a published version takes effect in the future and its notice rule says
so (``change_notice.notify_subjects``), everyone affected is told by mail before
the notice period starts to run: people with a current consent and the account
holders of the connected stores (:mod:`tutela.notices.audience`), each in their
language, with the plain-language diff and a link to the new statement.

* :func:`plan_soon` (after publishing) or the daily ``notices.plan`` job find
  the versions that need notices; :func:`queue_notices` starts one explicitly.
* Too late to honour the notice period: refused and audited
  (:func:`too_late` is the error to show); ``allow_late`` sends knowingly late.
* Each delivery is claimed, sent and recorded in short transactions of its own
  and retried (:mod:`tutela.notices.delivery`): a crash mid-send repeats at most
  the one mail in flight. A version replaced before it takes effect, or already
  in effect, stops its notices (:mod:`tutela.notices.cancellation`).
  :func:`overview` and :func:`notices_of` report counts.

Importing this package registers the job handlers (:mod:`tutela.notices.jobs`);
the worker process installs a :class:`NoticeRuntime` with :func:`install_runtime`.
"""

from tutela.notices.audience import AudienceSpec, load_audience, parse_audience
from tutela.notices.campaign import NoticePlan, NoticesTooLate, PlanState, plan_for, too_late
from tutela.notices.deadline import latest_send_on
from tutela.notices.jobs import ensure_daily_plan, plan_soon, queue_notices
from tutela.notices.letter import NoticeText, compose
from tutela.notices.models import CampaignStatus, DeliveryStatus, NoticeCampaign, NoticeDelivery
from tutela.notices.runtime import NoticeRuntime, install_runtime, installed_runtime
from tutela.notices.status import VersionNotices, notices_of, overview

__all__ = [
    "AudienceSpec",
    "CampaignStatus",
    "DeliveryStatus",
    "NoticeCampaign",
    "NoticeDelivery",
    "NoticePlan",
    "NoticeRuntime",
    "NoticeText",
    "NoticesTooLate",
    "PlanState",
    "VersionNotices",
    "compose",
    "ensure_daily_plan",
    "install_runtime",
    "installed_runtime",
    "latest_send_on",
    "load_audience",
    "notices_of",
    "overview",
    "parse_audience",
    "plan_for",
    "plan_soon",
    "queue_notices",
    "too_late",
]
