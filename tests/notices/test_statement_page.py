"""The public statement shows its revision date and announces the upcoming version."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.notices.conftest import Versions
from tutela.clock import FrozenClock
from tutela.config import Settings
from tutela.i18n import format_date
from tutela.web.app import create_app


@pytest.fixture
def client(engine: Engine, clock: FrozenClock, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, default_language="de")
    with TestClient(create_app(settings, engine=engine, clock=clock)) as test_client:
        yield test_client


@pytest.mark.promise("P20")
def test_the_page_shows_the_revision_date_and_the_upcoming_version(
    versions: Versions, client: TestClient
) -> None:
    page = client.get("/privacy?lang=en").text
    revised = format_date(versions.first.published_at.date(), "en")
    assert f'<dt>Last revised</dt><dd><time datetime="2026-03-02">{revised}</time>' in page
    upcoming = format_date(versions.second.effective_at, "en")
    assert f"A new version takes effect on {upcoming}." in page
    assert 'href="/privacy/v/2?lang=en"' in page


@pytest.mark.promise("P20")
def test_the_markdown_statement_announces_the_upcoming_version_too(
    versions: Versions, client: TestClient
) -> None:
    german = client.get("/privacy.md?lang=de").text
    date = format_date(versions.second.effective_at, "de")
    first_line = german.splitlines()[0]
    assert first_line == (
        f"> **Ab dem {date} gilt eine neue Version.** "
        "[Neue Version lesen](/privacy/v/2?lang=de&format=md)"
    )
    english = client.get("/privacy?format=md&lang=en").text
    assert english.startswith("> **A new version takes effect on ")
    assert "Last revised" in english


def test_nothing_is_announced_without_an_upcoming_version(
    versions: Versions, client: TestClient, clock: FrozenClock
) -> None:
    import datetime as dt

    clock.set(dt.datetime.combine(versions.second.effective_at, dt.time(9), tzinfo=dt.UTC))
    markdown = client.get("/privacy.md?lang=en").text
    assert not markdown.startswith(">")
    assert "A new version takes effect" not in client.get("/privacy?lang=en").text
