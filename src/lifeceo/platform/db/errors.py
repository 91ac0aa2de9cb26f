"""Which database errors mean "PostgreSQL cannot be reached", as opposed to a bad statement."""

import psycopg
from sqlalchemy.exc import DBAPIError

# Server states that refuse or end sessions: admin_shutdown (pg_ctl stop -m fast ends every
# backend with it), crash_shutdown, cannot_connect_now (starting up or shutting down), and
# too_many_connections (max_connections reached: every backend is taken).
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
# Class 08, connection exception: the connection could not be made or was lost.
CONNECTION_EXCEPTION_CLASS = "08"


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc`, or an error it wraps or was raised from, says the database is unreachable."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        if _unreachable(error):
            return True
        pending.extend((getattr(error, "orig", None), error.__cause__, error.__context__))
    return False


def _unreachable(error: BaseException) -> bool:
    # SQLAlchemy decided the connection is dead (psycopg marked it closed or broken).
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    # psycopg's own errors, whether SQLAlchemy, psycopg_pool or procrastinate wrapped them or not.
    if isinstance(error, psycopg.InterfaceError):  # "the connection is closed"
        return True
    if isinstance(error, psycopg.OperationalError):
        # No SQLSTATE: raised by the client itself (connection refused, server closed the
        # connection unexpectedly, consuming input failed), not by a statement PostgreSQL ran.
        sqlstate = error.sqlstate
        return (sqlstate is None or sqlstate in UNAVAILABLE_SQLSTATES
                or sqlstate.startswith(CONNECTION_EXCEPTION_CLASS))
    return False
