"""``[dedup]`` config, and one linking replica at a time on PostgreSQL (advisory lock),
with the whole worker pass run against PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from authority.cases.config import DedupConfig
from authority.cases.lease import AdvisoryLockLease, ProcessLease, lease_for
from nearmiss.config import ConfigTable
from nearmiss.errors import ConfigError
from tests.integration.network import postgres_database
from tests.unit.cases.support import (
    PHISHING,
    CountingEmbedder,
    authority_app,
    case_of,
    desk,
    file,
    make_network,
    make_report,
    make_worker,
    members,
)


def table(tmp_path: Path, text: str) -> ConfigTable:
    path = tmp_path / "authority.toml"
    path.write_text(text)
    return ConfigTable.load(path).table("dedup")


def test_dedup_table_defaults_and_overrides(tmp_path: Path) -> None:
    assert DedupConfig.from_table(None) == DedupConfig()
    config = DedupConfig.from_table(
        table(
            tmp_path,
            '[dedup]\nmodel_path = "models/minilm"\ndevice = "cpu"\nbatch_size = 8\n'
            "link_threshold = 0.8\nmax_date_gap_days = 30\n",
        )
    )
    assert config.model_path == tmp_path / "models" / "minilm"
    assert (config.torch_device, config.batch_size) == ("cpu", 8)
    assert (config.policy.link_threshold, config.policy.max_date_gap_days) == (0.8, 30)
    assert config.policy.near_jaccard == DedupConfig().policy.near_jaccard
    assert DedupConfig().torch_device is None


def test_unknown_device_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"dedup\.device"):
        DedupConfig.from_table(table(tmp_path, '[dedup]\ndevice = "tpu"\n'))


def test_sqlite_always_links() -> None:
    engine = create_engine("sqlite://")
    assert isinstance(lease_for(engine), ProcessLease)
    assert lease_for(engine).acquire()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


def test_one_replica_links_at_a_time_on_postgres(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    first, second = AdvisoryLockLease(engine), AdvisoryLockLease(engine)
    try:
        assert first.acquire()
        assert first.acquire()  # still held
        assert not second.acquire()
        first.release()
        assert second.acquire()
    finally:
        first.release()
        second.release()
        engine.dispose()


def test_worker_and_analysts_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    network = make_network(tmp_path / "net", database_url=postgres_url)
    with authority_app(network) as (app, alerts):
        worker = make_worker(app, CountingEmbedder(), alerts=alerts)
        one = file(app, network, make_report("lab-aurora", PHISHING))
        two = file(app, network, make_report("lab-borealis", PHISHING))
        three = file(app, network, make_report("lab-cygnus", "another story"))
        assert worker.link_pending() == 3
        assert members(app, case_of(app, one)) == {one, two}

        left, new = desk(app).split(str(case_of(app, one)), [two], by="analyst", reason="no")
        merged = desk(app).merge(
            str(new.summary.case_id), str(case_of(app, three)), by="analyst", reason="yes"
        )
        four = file(app, network, make_report("lab-cygnus", PHISHING))
        assert worker.link_pending() == 1

        # The new report matches both parts of the split; it joins one, never both.
        assert {two, three} <= members(app, merged.summary.case_id)
        assert case_of(app, four) in (left.summary.case_id, merged.summary.case_id)
        assert case_of(app, one) != case_of(app, two)
