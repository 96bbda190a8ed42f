"""One settings object for the whole service, read from ``GEOGRID_*`` environment variables.

Built only at the edges (the app factory, the CLI) and passed down as values: core functions
never read settings themselves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration of a geogrid installation (see README, "Configuration")."""

    model_config = SettingsConfigDict(env_prefix="GEOGRID_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL/PostGIS URL. Unset: the embedded cluster under pg_dir is used.",
    )
    pg_dir: Path = Field(default=Path("var/pg"), description="Embedded cluster directory.")
    data_dir: Path = Field(
        default=Path("var/data"), description="Files kept by the service (uploaded imagery)."
    )
    pg_port: int = Field(default=5439, ge=1024, le=65535, description="Embedded cluster port.")
    pg_bin: Path | None = Field(
        default=None, description="Directory of initdb/pg_ctl; found automatically when unset."
    )
    host: str = Field(default="127.0.0.1", description="Address `geogrid serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `geogrid serve` binds to.")
    basemap_url: str | None = Field(
        default=None,
        description="XYZ tile URL template of the basemap of map pages (e.g. an intranet "
        "Tianditu proxy). Unset: no basemap, the pages work fully offline.",
    )
    basemap_attribution: str = Field(default="", description="Attribution of the basemap.")
    timezone: str = Field(default="Asia/Shanghai", description="Zone of naive timestamps.")
    tile_cache_size: int = Field(
        default=4096, ge=0, description="Tiles kept in memory per process (0 disables)."
    )
    tile_max_features: int = Field(
        default=20000, ge=1, description="Most features one vector tile carries."
    )
    max_page_size: int = Field(default=10000, ge=1, description="Largest `limit` of items.")
    statement_timeout_ms: int = Field(
        default=30000, ge=0, description="Longest a single query of the API may run."
    )
    max_upload_mb: int = Field(
        default=200, ge=1, description="Largest upload (and request body), in MB."
    )
    cors_origins: str = Field(
        default="",
        description="Origins (comma-separated, e.g. https://gis.example.gov.cn) whose pages may "
        "call the API from a browser. Empty: CORS is off.",
    )
    login_attempts: int = Field(
        default=5,
        ge=1,
        description="Failed logins of one username (or from one address) within "
        "login_window_s after which further attempts are refused for that window.",
    )
    login_window_s: int = Field(
        default=300, ge=1, description="Window of the failed-login count, in seconds."
    )
    grid_area_min_m2: float = Field(
        default=2000.0, ge=0, description="Grids smaller than this get a warning."
    )
    grid_area_max_m2: float = Field(
        default=100_000.0, ge=0, description="Grids larger than this get a warning."
    )
    catalogue_file: Path | None = Field(
        default=None,
        description="CSV of the district's additions to the classification catalogue (local "
        "subclasses, departments, deadlines); rows override the shipped ones by kind and code.",
    )
    calendar_file: Path | None = Field(
        default=None,
        description="CSV of holidays and swapped working days replacing the shipped Chinese "
        "public-holiday calendar (date,kind with kind holiday or workday).",
    )
    accumulation_start: str = Field(
        default="2019-01-01",
        description="First day counted in 累计未结案数 (open_cumulative), YYYY-MM-DD.",
    )
    repeat_distance_m: float = Field(
        default=30.0, gt=0, description="Cases of one subclass this close are at the same place."
    )
    extension_excluded: str = Field(
        default="",
        pattern=r"^(\d{5}(,\d{5})*)?$",
        description="Subclasses left out of 延期率 (extension_rate), comma-separated 5-digit "
        "codes (long-running engineering work).",
    )
    rate_denominator: str = Field(
        default="registered",
        pattern="^(registered|due)$",
        description="Denominator of closure and on-time rates: registered or due (应结案数).",
    )

    secret_key: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="Key signing login tokens (HS256), at least 32 characters. Unset: a random "
        "key is created in data_dir/secret_key on first use and kept there.",
    )
    token_minutes: int = Field(
        default=30, ge=1, le=1440, description="Lifetime of a bearer token from POST /auth/token."
    )
    session_minutes: int = Field(
        default=480, ge=1, le=10080, description="Lifetime of the map pages' login cookie."
    )
    public_read: bool = Field(
        default=False,
        description="Let anyone read (GET) without logging in; writes still need a role.",
    )
    admin_password: SecretStr | None = Field(
        default=None,
        min_length=8,
        description="Password of the first `admin` account, created when there is no user yet. "
        "Unset: a random one is printed once.",
    )

    def indicator_options(self) -> dict[str, Any]:
        """The installation's indicator options, as plain values for ``IndicatorQuery.parse``."""
        return {
            "tz": self.timezone,
            "accumulation_start": self.accumulation_start,
            "repeat_distance_m": self.repeat_distance_m,
            "default_denominator": self.rate_denominator,
            "extension_excluded": self.extension_excluded,
        }
