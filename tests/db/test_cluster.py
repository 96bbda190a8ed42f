"""The embedded cluster: first start, idempotent start, stop, stale pid file, clear errors."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from geogrid.db.cluster import Cluster, find_pg_bin
from geogrid.db.engine import (
    ensure_database,
    head_revision,
    make_engine,
    migrate,
    schema_revision,
)
from geogrid.errors import ClusterError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    base = Path(tempfile.mkdtemp(prefix="geogrid-cluster-"))
    base.chmod(0o755)
    c = Cluster(base / "pg", _free_port(), fsync=False)
    yield c
    c.destroy()


def test_up_is_idempotent_and_down_stops(cluster: Cluster) -> None:
    assert not cluster.status().initialised
    assert cluster.up() is True
    assert cluster.up() is False  # second `db up` is a no-op
    st = cluster.status()
    assert st.running and st.pid is not None
    assert ensure_database(cluster.url()) is True
    assert ensure_database(cluster.url()) is False
    engine = make_engine(cluster.url())
    migrate(engine)
    migrate(engine)
    assert schema_revision(engine) == head_revision()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SHOW jit")).scalar() == "off"
        assert conn.execute(sa.text("SELECT postgis_lib_version()")).scalar().startswith("3.")
    engine.dispose()
    assert cluster.down() is True
    assert cluster.down() is False
    assert not cluster.status().running


def test_stale_pid_file_after_a_crash_is_handled(cluster: Cluster) -> None:
    cluster.up()
    cluster.down()
    # A crash leaves postmaster.pid naming a process that is not postgres (here: ourselves).
    pid_file = cluster.data_dir / "postmaster.pid"
    pid_file.write_text(f"{os.getpid()}\n{cluster.data_dir}\n")
    assert not cluster.status().running
    assert cluster.up() is True
    assert cluster.status().running


def test_server_runs_as_an_unprivileged_user(cluster: Cluster) -> None:
    cluster.up()
    pid = cluster.status().pid
    uid = Path(f"/proc/{pid}").stat().st_uid
    assert uid != 0 or os.geteuid() != 0


def test_unreachable_directory_is_a_clear_error(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root hands the cluster to another user")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o700)
    with pytest.raises(ClusterError, match="cannot reach"):
        Cluster(locked / "pg", _free_port()).up()


def test_finds_postgres_with_postgis() -> None:
    assert (find_pg_bin() / "pg_ctl").exists()
