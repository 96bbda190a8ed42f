"""The embedded PostgreSQL + PostGIS cluster that geogrid runs by default.

A private cluster under one directory (data, socket and log), listening on loopback only.
PostgreSQL refuses to run as root, so when geogrid runs as root the server runs as an
unprivileged system user (``postgres`` when it exists, otherwise ``geogrid``, created).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from geogrid.errors import ClusterError

MIN_PG_MAJOR = 14
SUPERUSER = "postgres"
DEBIAN_PACKAGES = "postgresql postgresql-15-postgis-3"


@dataclass(frozen=True)
class ClusterStatus:
    """What ``geogrid db status`` reports."""

    initialised: bool
    running: bool
    pid: int | None
    port: int
    data_dir: Path


def find_pg_bin(explicit: Path | None = None) -> Path:
    """Return the directory holding ``initdb``, ``pg_ctl`` and ``postgres`` (>= 14, with PostGIS).

    Looks at ``explicit``, then ``/usr/lib/postgresql/<major>/bin`` (newest first), then PATH.
    """
    candidates: list[Path] = []
    if explicit is not None:
        candidates.append(Path(explicit))
    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        majors = sorted((p for p in root.iterdir() if p.name.isdigit()), key=lambda p: -int(p.name))
        candidates += [p / "bin" for p in majors]
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(os.path.realpath(on_path)).parent)
    for cand in candidates:
        if all((cand / exe).exists() for exe in ("initdb", "pg_ctl", "postgres")):
            major = _major_version(cand)
            if major >= MIN_PG_MAJOR and _has_postgis(cand, major):
                return cand
    raise ClusterError(
        "No PostgreSQL >= 14 with PostGIS was found. Install it with "
        f"`apt-get install -y {DEBIAN_PACKAGES}` (or run `make setup`), or point "
        "GEOGRID_DATABASE_URL at an existing PostGIS server."
    )


def _major_version(bin_dir: Path) -> int:
    out = subprocess.run(
        [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, check=False
    ).stdout
    m = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(m.group(1)) if m else 0


def _has_postgis(bin_dir: Path, major: int) -> bool:
    share = (
        subprocess.run(
            [str(bin_dir / "pg_config"), "--sharedir"], capture_output=True, text=True, check=False
        ).stdout.strip()
        if (bin_dir / "pg_config").exists()
        else ""
    )
    places = [Path(share)] if share else []
    places += [Path(f"/usr/share/postgresql/{major}"), bin_dir.parent / "share"]
    return any(list((p / "extension").glob("postgis.control")) for p in places)


class Cluster:
    """A private PostgreSQL cluster rooted at ``base`` (``data/``, ``run/``, ``log/``)."""

    def __init__(
        self, base: Path, port: int, *, pg_bin: Path | None = None, fsync: bool = True
    ) -> None:
        self.base = Path(base).absolute()
        self.port = port
        self.fsync = fsync
        self._pg_bin = pg_bin
        self.data_dir = self.base / "data"
        self.socket_dir = self.base / "run"
        self.log_file = self.base / "log" / "postgresql.log"

    # -- facts ---------------------------------------------------------------------------
    @property
    def pg_bin(self) -> Path:
        if self._pg_bin is None or not (self._pg_bin / "pg_ctl").exists():
            self._pg_bin = find_pg_bin(self._pg_bin)
        return self._pg_bin

    def url(self, dbname: str = "geogrid") -> str:
        """SQLAlchemy URL of database ``dbname`` on this cluster (loopback TCP)."""
        return f"postgresql+psycopg2://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def status(self) -> ClusterStatus:
        initialised = (self.data_dir / "PG_VERSION").exists()
        pid = self._live_pid() if initialised else None
        return ClusterStatus(initialised, pid is not None, pid, self.port, self.data_dir)

    # -- actions -------------------------------------------------------------------------
    def up(self) -> bool:
        """Initialise (first time) and start the cluster; return False when already running."""
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        if self._live_pid() is not None:
            return False
        self._remove_stale_pid()
        self._prepare_dirs()
        opts = f"-p {self.port} -k {self.socket_dir}"
        res = self._run_as_owner(
            [
                str(self.pg_bin / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                "60",
                "-o",
                opts,
                "start",
            ]
        )
        if res.returncode != 0:
            raise ClusterError(
                f"PostgreSQL did not start on port {self.port}: {_tail(self.log_file)} "
                f"{res.stderr.strip()}".strip()
            )
        return True

    def down(self) -> bool:
        """Stop the cluster cleanly (fast shutdown); return False when it was not running."""
        if self._live_pid() is None:
            self._remove_stale_pid()
            return False
        res = self._run_as_owner(
            [str(self.pg_bin / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]
        )
        if res.returncode != 0:
            raise ClusterError(f"PostgreSQL did not stop: {res.stderr.strip()}")
        return True

    def destroy(self) -> None:
        """Stop the cluster and delete its directory (throw-away clusters of tests)."""
        try:
            self.down()
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    # -- internals -----------------------------------------------------------------------
    def _owner(self) -> str | None:
        """The unprivileged user the server runs as, or None when we are not root."""
        if os.geteuid() != 0:
            return None
        for name in ("postgres", "geogrid"):
            try:
                pwd.getpwnam(name)
                return name
            except KeyError:
                continue
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "geogrid"],
            check=True,
        )
        return "geogrid"

    def _run_as_owner(self, cmd: list[str]) -> subprocess.CompletedProcess[str]:
        owner = self._owner()
        if owner is not None:
            cmd = ["runuser", "-u", owner, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=False, cwd="/")

    def _prepare_dirs(self) -> None:
        for d in (self.base, self.data_dir, self.socket_dir, self.log_file.parent):
            d.mkdir(parents=True, exist_ok=True)
        owner = self._owner()
        if owner is None:
            return
        self._check_traversable(owner)
        for d in (self.base, self.socket_dir, self.log_file.parent):
            shutil.chown(d, owner, owner)
        if not any(self.data_dir.iterdir()):
            shutil.chown(self.data_dir, owner, owner)
            self.data_dir.chmod(0o700)

    def _check_traversable(self, owner: str) -> None:
        for parent in self.base.parents:
            if parent.stat().st_mode & 0o001 == 0:
                raise ClusterError(
                    f"The database user '{owner}' cannot reach {self.base}: {parent} is not "
                    "searchable by other users. Choose another GEOGRID_PG_DIR or chmod o+x it."
                )

    def _initdb(self) -> None:
        self._prepare_dirs()
        res = self._run_as_owner(
            [
                str(self.pg_bin / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ]
        )
        if res.returncode != 0:
            raise ClusterError(f"initdb failed: {res.stderr.strip() or res.stdout.strip()}")
        conf = self.data_dir / "postgresql.conf"
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "max_connections": "200",
            "shared_buffers": "'512MB'",
            "work_mem": "'32MB'",
            "maintenance_work_mem": "'512MB'",
            # Small, frequent map queries: JIT compilation costs more than it saves.
            "jit": "off",
            "fsync": "on" if self.fsync else "off",
            "synchronous_commit": "on" if self.fsync else "off",
            "full_page_writes": "on" if self.fsync else "off",
            "max_wal_size": "'2GB'",
            "timezone": "'UTC'",
        }
        with conf.open("a") as fh:
            fh.write("\n# geogrid embedded cluster\n")
            fh.writelines(f"{k} = {v}\n" for k, v in settings.items())

    def _live_pid(self) -> int | None:
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        return pid if b"postgres" in cmdline else None

    def _remove_stale_pid(self) -> None:
        """A crash leaves postmaster.pid behind; its PID may now belong to another process."""
        pid_file = self.data_dir / "postmaster.pid"
        if pid_file.exists() and self._live_pid() is None:
            pid_file.unlink()


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return " ".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
