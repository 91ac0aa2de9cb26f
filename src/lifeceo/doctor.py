"""`lifeceo doctor`: the effective configuration with secrets masked, and a check of each
dependency the configuration names."""

import socket
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from alembic.runtime.migration import MigrationContext
from pydantic import SecretStr
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.exc import SQLAlchemyError

from lifeceo.platform.db.embedded import DataDirInUse, cluster_url
from lifeceo.platform.db.engine import sqlalchemy_url
from lifeceo.platform.db.migrations import head_revisions
from lifeceo.settings import Settings

MASK = "********"
# A setting or query parameter whose name ends in one of these holds a secret.
SECRET_WORDS = frozenset({"password", "secret", "token", "key"})
# A dependency that does not answer within this is reported as down.
CONNECT_TIMEOUT_SECONDS = 3


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


def mask_url(url: str) -> str:
    """The URL with the password of its user part and any `password=` query value masked."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            userinfo = f"{userinfo.split(':', 1)[0]}:{MASK}"
        netloc = f"{userinfo}@{host}"
    query = urlencode([(key, MASK if key.lower() in SECRET_WORDS else value)
                       for key, value in parse_qsl(parts.query, keep_blank_values=True)], safe="/*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def effective_configuration(settings: Settings) -> dict[str, str]:
    shown: dict[str, str] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if value is None:
            shown[name] = "(not set)"
        elif isinstance(value, SecretStr) or name.rsplit("_", 1)[-1] in SECRET_WORDS:
            shown[name] = MASK
        elif name.endswith("_url"):
            shown[name] = mask_url(str(value))
        else:
            shown[name] = str(value)
    return shown


def run_checks(settings: Settings) -> list[CheckResult]:
    checks = [check_data_dir(settings.data_dir)]
    checks.extend(check_database(settings))
    if settings.redis_url:
        checks.append(check_redis(settings.redis_url))
    return checks


def check_data_dir(path: Path) -> CheckResult:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-") as probe:
            probe.write(b"ok")
            probe.flush()
    except OSError as exc:
        return CheckResult("data dir", False, f"{path.resolve()} is not writable: {exc}")
    return CheckResult("data dir", True, f"{path.resolve()} is writable")


def check_database(settings: Settings) -> list[CheckResult]:
    if settings.database_url:
        return _database_checks(settings.database_url, "database")
    if not (settings.data_dir / "pgdata" / "PG_VERSION").exists():
        return [CheckResult("database", True, "embedded; `lifeceo serve` will create it in "
                                              f"{(settings.data_dir / 'pgdata').resolve()}")]
    try:
        with cluster_url(settings.data_dir) as url:
            return _database_checks(url, "database (embedded)")
    except (DataDirInUse, RuntimeError) as exc:
        return [CheckResult("database (embedded)", False, str(exc))]


def _database_checks(url: str, name: str) -> list[CheckResult]:
    engine = create_sync_engine(sqlalchemy_url(url),
                                connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})
    try:
        with engine.connect() as connection:
            version = connection.exec_driver_sql("SHOW server_version").scalar()
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return [CheckResult(name, False, f"{mask_url(url)} unreachable: {reason}")]
    finally:
        engine.dispose()
    heads = head_revisions()
    reachable = CheckResult(name, True, f"{mask_url(url)} answers (PostgreSQL {version})")
    if current == heads:
        return [reachable, CheckResult("migrations", True, f"at head {sorted(heads)}")]
    return [reachable, CheckResult("migrations", False, f"at {sorted(current) or 'none'}, head is "
                                                        f"{sorted(heads)}: run `lifeceo migrate`")]


def check_redis(url: str) -> CheckResult:
    """PING over a raw socket (RESP), after AUTH when the URL carries credentials."""
    parts = urlsplit(url)
    host, port = parts.hostname or "localhost", parts.port or 6379
    commands = []
    if parts.password:
        credentials = [unquote(parts.username)] if parts.username else []
        commands.append(["AUTH", *credentials, unquote(parts.password)])
    commands.append(["PING"])
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_SECONDS) as raw:
            conn = (ssl.create_default_context().wrap_socket(raw, server_hostname=host)
                    if parts.scheme == "rediss" else raw)
            replies = [_redis_command(conn, command) for command in commands]
    except OSError as exc:
        return CheckResult("redis", False, f"{mask_url(url)} unreachable: {exc}")
    if replies[-1] != "+PONG":
        return CheckResult("redis", False, f"{mask_url(url)} answered {replies[-1]!r} to PING")
    return CheckResult("redis", True, f"{mask_url(url)} answers PING")


def _redis_command(conn: socket.socket, arguments: list[str]) -> str:
    encoded = [argument.encode() for argument in arguments]
    request = b"*%d\r\n" % len(encoded) + b"".join(
        b"$%d\r\n%s\r\n" % (len(argument), argument) for argument in encoded)
    conn.sendall(request)
    reply = b""
    while not reply.endswith(b"\r\n"):
        chunk = conn.recv(512)
        if not chunk:
            raise ConnectionError("connection closed")
        reply += chunk
    return reply.decode(errors="replace").strip()
