"""Configuration: command-line flags over ``SHARINGTOOLS_*`` environment variables over a
YAML config file over defaults (pydantic-settings).

The API key comes from ``SHARINGTOOLS_API_KEY`` or a file named by ``api_key_file``; a key
written inline in the config file is refused, so config files can be committed.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from orchestrator.api.errors import ClientConfigError
from orchestrator.log import register_secret

KEY_PATTERN = re.compile(r"^sht_[0-9a-f]{64}$")
DEFAULT_CONFIG = "orchestrator.yaml"


class Settings(BaseSettings):
    """Everything the client and the orchestrator are configured with. See config.example.yaml."""

    model_config = SettingsConfigDict(env_prefix="SHARINGTOOLS_", extra="forbid")

    base_url: str = Field("http://127.0.0.1:8765/api/v1", description="the installation's /api/v1/ URL")
    api_key: SecretStr | None = Field(None, description="sht_ + 64 hex; from the environment only")
    api_key_file: Path | None = Field(None, description="a file holding the key (first line)")
    # The reference sets no per-IP limit; 100/s keeps a plan of 800 accounts under 20 s, and the
    # adaptive limiter backs off on the first 429, so a server with a lower limit is found, not hammered.
    rate: float = Field(100.0, gt=0, description="requests per second, the client's ceiling")
    concurrency: int = Field(16, ge=1, le=512, description="requests in flight at once")
    timeout: float = Field(30.0, gt=0, description="seconds for one HTTP attempt")
    connect_timeout: float = Field(5.0, gt=0)
    retry_attempts: int = Field(6, ge=1, le=50)
    retry_deadline: float = Field(120.0, gt=0, description="seconds for a call including its retries")
    retry_backoff_base: float = Field(0.25, ge=0)
    retry_backoff_max: float = Field(20.0, ge=0)
    settle_time: float | None = Field(
        None, ge=0, description="seconds after which a create sent without an answer is taken never to land any more "
        "(default: retry_deadline or 60, whichever is larger); until then its account's creates of its kind are held")
    allow_insecure_http: bool = Field(False, description="allow http:// to a host that is not loopback")
    verify_tls: bool = True
    state_db: str = Field(".orchestrator/state.db", description="the state store: a SQLite file, or a "
                          "postgresql://user@host:5432/dbname URL (the password from PGPASSWORD or ~/.pgpass)")
    state_busy_timeout: float = Field(30.0, gt=0, description="seconds a state store call waits out another's lock")
    retention_days: float = Field(90.0, gt=0, description="runs, journal and drift states older than this are pruned")
    retention_runs: int = Field(10_000, ge=1, description="runs kept per installation at most (the newest)")

    @field_validator("state_db", mode="before")
    @classmethod
    def _state_db(cls, value: Any) -> str:
        text = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
        if text.strip().lower().startswith(("postgresql://", "postgres://")):
            password = urlsplit(text.strip()).password
            if password:  # never in a log line, whatever prints the settings
                register_secret(password)
                register_secret(unquote(password))
        return text

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL such as https://example.com/api/v1")
        return value.rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, YamlConfigSource(settings_cls)

    # -- derived ------------------------------------------------------------
    def resolved_key(self) -> str:
        """The API key, checked for shape before any request is made."""
        key = self.api_key.get_secret_value() if self.api_key else None
        if key is None and self.api_key_file is not None:
            try:
                key = self.api_key_file.read_text().strip().splitlines()[0].strip()
            except (OSError, IndexError) as exc:
                raise ClientConfigError(
                    f"cannot read the API key file {self.api_key_file}: {exc.__class__.__name__}"
                ) from None
        if not key:
            raise ClientConfigError("no API key: set SHARINGTOOLS_API_KEY or api_key_file in the config file")
        register_secret(key)
        if not KEY_PATTERN.match(key):
            raise ClientConfigError(
                "the API key is not a Sharingtools key: expected sht_ followed by 64 hex characters"
            )
        return key

    def check_transport_security(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme == "http" and not self.allow_insecure_http and not is_loopback(parts.hostname or ""):
            raise ClientConfigError(
                f"refusing to send the API key over plain http to {parts.hostname}: use https, "
                "or set allow_insecure_http: true if you really mean it"
            )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class YamlConfigSource(PydanticBaseSettingsSource):
    """The config file: ``SHARINGTOOLS_CONFIG``, else ./orchestrator.yaml when it exists."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self.path = Path(os.environ.get("SHARINGTOOLS_CONFIG", DEFAULT_CONFIG))
        self.data = self._load()

    def _load(self) -> dict[str, Any]:
        explicit = "SHARINGTOOLS_CONFIG" in os.environ
        if not self.path.exists():
            if explicit:
                raise ClientConfigError(f"config file {self.path} does not exist")
            return {}
        try:
            data = YAML(typ="safe").load(self.path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise ClientConfigError(f"cannot read the config file {self.path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise ClientConfigError(f"the config file {self.path} is not UTF-8 text: save it as UTF-8") from None
        except YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{self.path}:{mark.line + 1}:{mark.column + 1}" if mark else str(self.path)
            raise ClientConfigError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
        if not isinstance(data, dict):
            raise ClientConfigError(f"{self.path}: expected a mapping of settings")
        if "api_key" in data:
            raise ClientConfigError(
                f"{self.path}: api_key must not be written in the config file; "
                "use SHARINGTOOLS_API_KEY or api_key_file"
            )
        return {k.replace("-", "_"): v for k, v in data.items()}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self.data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.data)


def load_settings(**overrides: Any) -> Settings:
    """Settings from all sources; flags given as ``overrides`` (None values are ignored).
    Any problem becomes one ``ClientConfigError`` line."""
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ClientConfigError(f"invalid setting {where}: {first['msg']}") from None
    if settings.api_key is not None:
        register_secret(settings.api_key.get_secret_value())
    return settings
