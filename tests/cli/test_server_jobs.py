"""The composition root gives every job module its handlers and keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutela.cli.runtime import Runtime
from tutela.cli.server import JOB_MODULES, install_job_handlers
from tutela.config import Settings
from tutela.consent.doi_expiry import install_expiry_master
from tutela.consent.sign_up_queue import install_sign_up_master
from tutela.dsr.jobs import install_runtime
from tutela.dsr.stores import NO_STORES
from tutela.jobs import registry
from tutela.mail import install_delivery


def test_install_job_handlers_wires_every_job_module(db_url: str, tmp_path: Path) -> None:
    runtime = Runtime(settings=Settings(data_dir=tmp_path, database_url=db_url))
    saved = (install_delivery(None), install_expiry_master(None), install_sign_up_master(None))
    saved_dsr = install_runtime(None)
    (tmp_path / "stores.yaml").write_text(NO_STORES, encoding="utf-8")
    try:
        install_job_handlers(runtime)
        kinds = set(registry.kinds())
        dsr = install_runtime(None)
    finally:
        install_delivery(saved[0])
        install_expiry_master(saved[1])
        install_sign_up_master(*saved[2])
        install_runtime(saved_dsr)
        runtime.engine.dispose()
    assert {"mail.send", "consent.sign_up"} <= kinds
    assert any(kind.startswith("dsr.") for kind in kinds)
    assert "tutela.dsr.jobs" in JOB_MODULES
    assert dsr is not None
    assert dsr.master.to_b64() == runtime.master_key.to_b64()


def test_the_demo_connects_a_sample_shop_once(tmp_path: Path) -> None:
    from tutela.cli.server import DEMO_CUSTOMER, _demo_shop
    from tutela.connectors import IdentitySet
    from tutela.dsr.stores import StoreDirectory, load_stores

    runtime = Runtime(settings=Settings(data_dir=tmp_path))
    try:
        _demo_shop(runtime)
        written = (tmp_path / "stores.yaml").stat().st_mtime_ns
        _demo_shop(runtime)  # a second start keeps the shop as it is
        assert (tmp_path / "stores.yaml").stat().st_mtime_ns == written
        stores = load_stores(runtime.settings, master=runtime.master_key)
        assert [store.name for store in stores] == ["shop"]
        with stores[0].access(IdentitySet.of(email=DEMO_CUSTOMER)) as found:
            tables = {record.table for record in found}
        assert {"customers", "orders"} <= tables
        on_file = StoreDirectory(stores).on_file(kind="email", value=DEMO_CUSTOMER)
        assert on_file.known
        assert on_file.address == DEMO_CUSTOMER
        for store in stores:
            store.close()
    finally:
        runtime.engine.dispose()


def test_the_demo_runs_erasures_at_once_unless_told_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tutela.cli.server import _demo_grace

    monkeypatch.delenv("TUTELA_DSR_CHANGE_GRACE_HOURS")
    runtime = Runtime(settings=Settings(data_dir=tmp_path))
    assert runtime.settings.dsr_change_grace_hours == 24
    _demo_grace(runtime)
    assert runtime.settings.dsr_change_grace_hours == 0
    monkeypatch.setenv("TUTELA_DSR_CHANGE_GRACE_HOURS", "6")
    told = Runtime(settings=Settings(data_dir=tmp_path))
    _demo_grace(told)
    assert told.settings.dsr_change_grace_hours == 6
