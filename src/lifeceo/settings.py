"""The one configuration object: every setting comes from a LIFECEO_* environment variable."""

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import PrivateAttr, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_KEY_FILE = "secret_key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIFECEO_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    # Where the embedded PostgreSQL cluster, the generated secret key and uploaded media live.
    data_dir: Path = Path(".lifeceo")

    # Unset: an embedded PostgreSQL is started in data_dir/pgdata. Set in production.
    database_url: str | None = None
    # PgBouncer in transaction mode cannot keep server-side prepared statements across
    # transactions, so psycopg must not prepare them.
    database_pgbouncer: bool = False
    # Two workers x (10 + 10) stays well under PostgreSQL's default max_connections of 100.
    database_pool_size: int = 10
    database_pool_overflow: int = 10
    database_pool_timeout_seconds: float = 10.0
    # A runaway query must not hold a pooled connection for ever.
    database_statement_timeout_ms: int = 30_000
    redis_url: str | None = None
    secret_key: SecretStr | None = None

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    # Proxies (Varnish, a load balancer) whose X-Forwarded-For/-Proto are believed; comma-separated.
    forwarded_allow_ips: str = "127.0.0.1"
    # A worker that does not answer the supervisor's ping within this is killed and replaced.
    worker_healthcheck_timeout_seconds: float = 5.0
    # In-flight requests get this long to finish on shutdown or reload.
    graceful_shutdown_seconds: float = 20.0
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"

    # JSON bodies are small: the largest valid one (a 5,000-character post with 10 tags) is
    # under 25 KB even in 4-byte UTF-8.
    max_body_bytes: int = 64 * 1024
    # Phone photos are 2-8 MB; 10 MB leaves room without inviting abuse.
    max_upload_bytes: int = 10 * 1024 * 1024
    # Pixel count bounds decoding memory (decompression bombs): 40 MP is a modern phone camera.
    max_image_pixels: int = 40_000_000
    page_size_default: int = 20
    page_size_max: int = 100
    # argon2id cost (RFC 9106 low-memory profile); the test suite lowers it to stay fast.
    password_hash_time_cost: int = 3
    password_hash_memory_kib: int = 64 * 1024
    # Sessions are revocable and stored hashed; a month matches what community sites use.
    session_ttl_seconds: int = 30 * 24 * 3600

    # Cache (lifeceo.platform.cache). Off: every read goes to PostgreSQL (the bench's baseline).
    cache_enabled: bool = True
    # L1 is per process; two workers x 64 MiB is small next to PostgreSQL's shared buffers.
    cache_l1_max_entries: int = 20_000
    cache_l1_max_bytes: int = 64 * 1024 * 1024
    # A Redis round trip on loopback or a LAN is well under 1 ms; past this, serve from L1.
    cache_redis_timeout_ms: int = 50
    # Consecutive Redis failures that open the circuit, and the first half-open probe delay
    # (doubling up to the maximum while Redis stays down).
    cache_breaker_failures: int = 3
    cache_breaker_probe_seconds: float = 0.5
    cache_breaker_probe_max_seconds: float = 5.0
    # Below this many lookups in a window no hit ratio is reported: 0 of 0 is not 0 %.
    cache_stats_min_samples: int = 100

    # Rate limits (lifeceo.platform.ratelimit), in the `limits` notation; numbers from the
    # platform this project re-implements.
    ratelimit_enabled: bool = True
    ratelimit_auth: str = "5/15minutes"
    ratelimit_registration: str = "3/hour"
    ratelimit_password_reset: str = "3/hour"
    ratelimit_uploads: str = "10/15minutes"
    ratelimit_content: str = "100/minute"
    ratelimit_api: str = "100/minute"
    ratelimit_events: str = "10/day"
    ratelimit_follows: str = "20/hour"

    # HTTP: responses smaller than this are not worth the CPU of compressing (one TCP segment).
    compress_min_bytes: int = 1400
    # Anonymous public reads may be cached by Varnish and browsers this long, and served stale
    # this much longer while revalidating or while the backend is failing.
    http_public_max_age_seconds: int = 10
    http_stale_while_revalidate_seconds: int = 30
    http_stale_if_error_seconds: int = 86_400
    # Varnish instances to purge by surrogate key after writes (comma-separated http URLs).
    varnish_purge_urls: str = ""

    _generated_secret_key: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _secret_key_required_in_production(self) -> "Settings":
        if self.env == "production" and self.secret_key is None:
            raise ValueError("LIFECEO_SECRET_KEY is required when LIFECEO_ENV=production")
        return self

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    def resolved_secret_key(self) -> str:
        """The configured key, or one generated once and kept in the data directory."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        if self._generated_secret_key is None:
            path = self.data_dir / SECRET_KEY_FILE
            if not path.exists():
                self.data_dir.mkdir(parents=True, exist_ok=True)
                # Written aside, then linked into place: of several workers starting at once, one
                # key wins and nobody reads a half-written file.
                candidate = path.with_name(f"{SECRET_KEY_FILE}.{os.getpid()}")
                candidate.write_text(secrets.token_urlsafe(48))
                candidate.chmod(0o600)
                try:
                    os.link(candidate, path)
                except FileExistsError:
                    pass
                finally:
                    candidate.unlink()
            self._generated_secret_key = path.read_text().strip()
        return self._generated_secret_key


@lru_cache
def get_settings() -> Settings:
    return Settings()
