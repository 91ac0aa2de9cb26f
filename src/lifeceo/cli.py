"""The `lifeceo` command: serve, worker, migrate, seed, create-admin, doctor."""

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from lifeceo.cli_output import JsonOption, print_json, stdout_console

# Imports of the application stay inside the commands: uvicorn's spawned workers re-import this
# module (the console script's __main__) before they answer the supervisor's health check, and
# the full import takes seconds on a busy 2-core machine.

# Markdown: docstring paragraphs are re-wrapped to the terminal instead of keeping source breaks.
app = typer.Typer(name="lifeceo", no_args_is_help=True, add_completion=False,
                  rich_markup_mode="markdown",
                  help="A community platform whose infrastructure is the product.")
console = stdout_console()
errors = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    # soft_wrap: the message stays one line in logs and pipes, where the width is a guess.
    errors.print(f"[bold red]error:[/bold red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@app.callback()
def main() -> None:
    from lifeceo.platform.observability.logging import configure_logging
    from lifeceo.settings import get_settings

    settings = get_settings()
    configure_logging(log_format=settings.log_format, level=settings.log_level, env=settings.env)


@contextmanager
def database() -> Iterator[str]:
    """LIFECEO_DATABASE_URL, or the embedded server (a running `serve`'s, or one just for this)."""
    from lifeceo.platform.db.embedded import DataDirInUse, cluster_url
    from lifeceo.settings import get_settings

    settings = get_settings()
    if settings.database_url:
        yield settings.database_url
        return
    try:
        with cluster_url(settings.data_dir) as url:
            yield url
    except DataDirInUse as exc:
        raise fail(str(exc)) from None


@app.command()
def serve(
    workers: Annotated[int | None, typer.Option(min=1, help="Web worker processes "
                                                "[default: LIFECEO_WORKERS, 2]")] = None,
    host: Annotated[str | None, typer.Option(help="[default: LIFECEO_HOST, 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="[default: LIFECEO_PORT, 8000]")] = None,
    reload: Annotated[bool, typer.Option(help="One process that restarts on code changes "
                                              "(development).")] = False,
    demo_data: Annotated[bool, typer.Option(help="Seed a small demo community if the database "
                                                 "has no users yet.")] = False,
) -> None:
    """Start the embedded PostgreSQL (unless LIFECEO_DATABASE_URL is set), migrate, and serve.

    A supervisor keeps the workers alive: a worker that dies is replaced, SIGHUP restarts them one
    by one, SIGTERM or Ctrl-C lets in-flight requests finish, then stops PostgreSQL.
    """
    from lifeceo.serve import ServeError, ServeOptions
    from lifeceo.serve import serve as run_server
    from lifeceo.settings import get_settings

    settings = get_settings()
    options = ServeOptions(workers=workers or settings.workers, host=host or settings.host,
                           port=port or settings.port, reload=reload, demo_data=demo_data)
    try:
        code = run_server(options, console)
    except ServeError as exc:
        raise fail(str(exc)) from None
    raise typer.Exit(code)


@app.command()
def worker(
    queues: Annotated[list[str] | None, typer.Option(
        "--queues", help="Queues to work, repeated or comma-separated [default: all six]")] = None,
    concurrency: Annotated[int | None, typer.Option(
        min=1, help="Jobs at once per queue [default: LIFECEO_JOBS_CONCURRENCY]")] = None,
    stop_on_stdin_eof: Annotated[bool, typer.Option(hidden=True)] = False,
) -> None:
    """Migrate, then run jobs from the queues until SIGTERM or Ctrl-C.

    On shutdown running jobs get LIFECEO_JOBS_SHUTDOWN_GRACE_SECONDS to finish, then go back to
    the queue. The jobs of a worker that was killed run again once its heartbeats have stopped
    for LIFECEO_JOBS_STALLED_AFTER_SECONDS.
    """
    from lifeceo import jobs  # noqa: F401  (registers every handler)
    from lifeceo.platform.db import migrations
    from lifeceo.platform.queue.queues import QueueConfigError
    from lifeceo.platform.queue.worker import run_worker
    from lifeceo.settings import get_settings

    names = [name.strip() for value in queues or [] for name in value.split(",") if name.strip()]
    with database() as url:
        migrations.upgrade(url)
        settings = get_settings().model_copy(update={"database_url": url})
        try:
            code = asyncio.run(run_worker(settings, queues=names, concurrency=concurrency,
                                          stop_on_stdin_eof=stop_on_stdin_eof))
        except QueueConfigError as exc:
            raise fail(str(exc)) from None
    raise typer.Exit(code)


@app.command()
def migrate() -> None:
    """Apply the database migrations up to head (the embedded database if no URL is set)."""
    from lifeceo.platform.db import migrations

    with database() as url:
        migrations.upgrade(url)
    console.print(f"[green]migrated[/green] to {', '.join(sorted(migrations.head_revisions()))}")


@app.command()
def seed(
    users: Annotated[int, typer.Option(min=0, help="Users to add.")] = 1_000,
    posts: Annotated[int, typer.Option(min=0, help="Posts to add.")] = 10_000,
    events: Annotated[int, typer.Option(min=0, help="Events to add.")] = 500,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data.")] = 1,
) -> None:
    """Add deterministic demo data: users, follows, posts, likes, comments, events, RSVPs.

    Migrates first. Users are named user00001, user00002, ... and all share the password
    'tango-demo-2024'. Seeding a database that already has such users continues the numbering
    after the highest one, so repeated runs add on top. Without new users, posts and events are
    written by the existing ones. Everything is added in one transaction: all or nothing.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from lifeceo.platform.db import migrations
    from lifeceo.seed import DEMO_PASSWORD, SeedError, seed_database

    columns = (TextColumn("{task.description:<9}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    started = time.perf_counter()
    with database() as url:
        migrations.upgrade(url)
        try:
            with Progress(*columns, console=console) as progress:
                summary = seed_database(url, users=users, posts=posts, events=events, seed=seed,
                                        progress=progress)
        except SeedError as exc:
            raise fail(str(exc)) from None
    console.print(
        f"[green]seeded[/green] in {time.perf_counter() - started:.1f} s: {summary.users} users, "
        f"{summary.follows} follows, {summary.posts} posts, {summary.likes} likes, "
        f"{summary.comments} comments, {summary.events} events, {summary.rsvps} RSVPs",
        soft_wrap=True)
    if summary.first_username:
        console.print(f"log in as {summary.first_username} with the password {DEMO_PASSWORD}")


@app.command("create-admin")
def create_admin(
    username: Annotated[str, typer.Argument(help="An existing user to promote, or a new one.")],
    email: Annotated[str | None, typer.Option(help="For a new user; prompted if missing.")] = None,
    password: Annotated[str | None, typer.Option(
        help="For a new user; prompted (hidden, twice) if missing.")] = None,
) -> None:
    """Make USERNAME an administrator, creating the account if it does not exist."""
    from pydantic import ValidationError

    from lifeceo import admin
    from lifeceo.community.users.schemas import Register
    from lifeceo.errors import LifeceoError
    from lifeceo.settings import get_settings

    settings = get_settings()
    with database() as url:
        if asyncio.run(admin.promote(settings, url, username=username)):
            console.print(f"[green]{username.lower()} is now an administrator[/green]")
            return
        email = email or typer.prompt("Email")
        password = password or typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            account = Register.model_validate(
                {"username": username, "email": email, "password": password})
            asyncio.run(admin.create(settings, url, account=account))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, error['loc']))}: {error['msg']}"
                                 for error in exc.errors())
            raise fail(problems) from None
        except LifeceoError as exc:
            raise fail(str(exc)) from None
    console.print(f"[green]created administrator {account.username}[/green]")


@app.command()
def doctor(as_json: JsonOption = False) -> None:
    """Show the effective configuration (secrets masked) and check every dependency.

    Exits 1 if any check fails. `--json`: `{"configuration": {setting: value}, "checks":
    [{"name", "ok", "detail"}]}`.
    """
    from rich.table import Table

    from lifeceo import doctor as checks
    from lifeceo.settings import get_settings

    settings = get_settings()
    shown = checks.effective_configuration(settings)
    if not as_json:
        configuration = Table("setting", "value", title="configuration", title_justify="left")
        for name, value in shown.items():
            configuration.add_row(name, value)
        console.print(configuration)
    results = checks.run_checks(settings)
    if as_json:
        print_json({"configuration": shown, "checks": [
            {"name": result.name, "ok": result.ok, "detail": result.detail}
            for result in results]})
    else:
        table = Table("check", "status", "detail", title="checks", title_justify="left")
        for result in results:
            table.add_row(result.name, "[green]ok[/green]" if result.ok else "[red]FAIL[/red]",
                          result.detail)
        console.print(table)
    if not all(result.ok for result in results):
        raise typer.Exit(1)


@app.command()
def bench(
    workloads: Annotated[str, typer.Option(
        help="Comma-separated: hello, feed-cached, feed-first, feed-deep, mixed, feed-uncached, "
             "search, jobs (the queue and the image pipeline, measured in-process).")]
        = "hello,feed-cached,feed-first,feed-deep,mixed,feed-uncached,search,jobs",
    connections: Annotated[str, typer.Option(help="Comma-separated connection counts.")]
        = "100,1000",
    seconds: Annotated[float, typer.Option(min=1, help="Measured time per run.")] = 10,
    workers: Annotated[int, typer.Option(min=1, help="Server worker processes.")] = 2,
    threads: Annotated[int, typer.Option(min=1, help="wrk threads.")] = 2,
    users: Annotated[int, typer.Option(min=1)] = 10_000,
    posts: Annotated[int, typer.Option(min=1)] = 100_000,
    events: Annotated[int, typer.Option(min=1)] = 5_000,
    data_dir: Annotated[Path, typer.Option(help="Its own data set, reused across runs.")]
        = Path(".lifeceo-bench"),
    output_dir: Annotated[Path, typer.Option(help="Where the JSON and Markdown reports go.")]
        = Path("bench/results"),
    compare_metrics: Annotated[bool, typer.Option(
        help="Run the workloads again with metrics off (LIFECEO_METRICS_ENABLED=false) and "
             "report what metrics cost.")] = False,
    compare_profiles: Annotated[bool, typer.Option(
        help="Run the workloads again with request profiles off (LIFECEO_PROFILES_ENABLED=false) "
             "and report what profiles cost.")] = False,
) -> None:
    """Drive a real `lifeceo serve` with wrk and report every workload as a ratio of `hello`.

    Seeds the data set on first use (reused afterwards), runs each workload after a short warm-up
    at each connection count, and writes bench/results/bench-TIME.json and bench-TIME.md.
    """
    from lifeceo.bench.runner import ALL_WORKLOADS, BenchOptions, run

    if compare_metrics and compare_profiles:
        raise fail("--compare-metrics and --compare-profiles: one comparison at a time")
    chosen = tuple(name.strip() for name in workloads.split(",") if name.strip())
    unknown = sorted(set(chosen) - set(ALL_WORKLOADS))
    if unknown or not chosen:
        raise fail(f"unknown workloads: {', '.join(unknown) or '(none given)'}")
    try:
        counts = tuple(int(count) for count in connections.split(","))
    except ValueError:
        raise fail("--connections takes comma-separated whole numbers") from None
    options = BenchOptions(
        data_dir=data_dir.resolve(), output_dir=output_dir, users=users, posts=posts,
        events=events, workers=workers, threads=threads, seconds=seconds, connections=counts,
        workloads=chosen, compare_metrics=compare_metrics, compare_profiles=compare_profiles)
    try:
        report = run(options, console)
    except RuntimeError as exc:
        raise fail(str(exc)) from None
    console.print(f"[green]report[/green]: {report} and {report.with_suffix('.json')}")


search_app = typer.Typer(no_args_is_help=True, help="Full-text search maintenance.")
app.add_typer(search_app, name="search")


@search_app.command("reindex")
def search_reindex(
    type: Annotated[str, typer.Option(
        "--type", help="posts, users, events or all.")] = "all",
) -> None:
    """Recompute search documents after a text search configuration change, while serving.

    Stored documents (posts, events) are rewritten in batches of 1,000 rows, a short
    transaction each; expression indexes are rebuilt with REINDEX CONCURRENTLY; the vocabulary
    behind suggestions and "did you mean" is recounted (writers wait for that step only).
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from lifeceo.community.search.documents import DOCUMENTS
    from lifeceo.community.search.reindex import reindex
    from lifeceo.settings import get_settings

    kinds = tuple(DOCUMENTS) if type == "all" else (type,)
    if not set(kinds) <= set(DOCUMENTS):
        raise fail(f"--type is one of {', '.join(DOCUMENTS)} or all, not {type!r}")
    columns = (TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    started = time.perf_counter()
    with database() as url, Progress(*columns, console=console) as progress:
        done = asyncio.run(reindex(get_settings(), url, kinds=kinds, progress=progress))
    console.print(f"[green]reindexed[/green] in {time.perf_counter() - started:.1f} s: "
                  + ", ".join(f"{kind} {count} rows rewritten" for kind, count in done.items()),
                  soft_wrap=True)


flags_app = typer.Typer(no_args_is_help=True, help="Feature flags, changed at runtime.")
app.add_typer(flags_app, name="flags")


def _print_flags(flags, *, as_json: bool, single: bool = False) -> None:
    """A table, or the admin API's representation of each flag (one object when `single`)."""
    from rich.table import Table

    if as_json:
        from lifeceo.platform.flags.schemas import Flag

        shown = [Flag.model_validate(flag).model_dump(mode="json") for flag in flags]
        print_json(shown[0] if single else shown)
        return

    table = Table("key", "enabled", "killed", "rollout %", "groups", "depends on", "client",
                  "version", title="feature flags", title_justify="left")
    for flag in flags:
        table.add_row(flag.key, "yes" if flag.enabled else "no",
                      "[red]KILLED[/red]" if flag.killed else "", f"{flag.rollout_percentage}",
                      ",".join(flag.groups), ",".join(flag.depends_on),
                      "yes" if flag.client_visible else "", str(flag.version))
    console.print(table)


@flags_app.command("list")
def flags_list(as_json: JsonOption = False) -> None:
    """Every flag with its state (the ten platform flags are created if missing)."""
    from lifeceo.platform.flags import control
    from lifeceo.settings import get_settings

    with database() as url:
        _print_flags(asyncio.run(control.list_flags(get_settings(), url)), as_json=as_json)


@flags_app.command("set")
def flags_set(
    key: Annotated[str, typer.Argument(help="The flag's key, e.g. predictive-caching.")],
    enabled: Annotated[bool | None, typer.Option("--enabled/--disabled")] = None,
    rollout: Annotated[float | None, typer.Option(help="Percentage 0-100, two decimals.")] = None,
    groups: Annotated[str | None, typer.Option(
        help="Comma-separated groups; an empty string clears them.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Change a flag; every running process applies it within a second. Audited as "cli"."""
    from pydantic import ValidationError

    from lifeceo.errors import LifeceoError
    from lifeceo.platform.flags import control
    from lifeceo.platform.flags.schemas import FlagUpdate
    from lifeceo.settings import get_settings

    changes = {"enabled": enabled, "rollout_percentage": rollout,
               "groups": None if groups is None else [
                   group.strip() for group in groups.split(",") if group.strip()]}
    try:
        body = FlagUpdate.model_validate({name: value for name, value in changes.items()
                                          if value is not None})
    except ValidationError as exc:
        raise fail("; ".join(f"{'.'.join(map(str, error['loc']))}: {error['msg']}"
                             for error in exc.errors())) from None
    if not body.model_fields_set:
        raise fail("nothing to change: give --enabled/--disabled, --rollout or --groups")
    with database() as url:
        try:
            flag = asyncio.run(control.set_flag(get_settings(), url, key=key, changes=body))
        except LifeceoError as exc:
            raise fail(str(exc)) from None
    _print_flags([flag], as_json=as_json, single=True)


@flags_app.command("kill")
def flags_kill(
    key: Annotated[str, typer.Argument(help="The flag to turn off for everyone.")],
    clear: Annotated[bool, typer.Option(
        "--clear", help="Clear the kill switch instead.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Kill switch: the flag is off for everyone at once, whatever its settings, until cleared."""
    from lifeceo.errors import LifeceoError
    from lifeceo.platform.flags import control
    from lifeceo.settings import get_settings

    with database() as url:
        try:
            flag = asyncio.run(control.kill_flag(get_settings(), url, key=key, killed=not clear))
        except LifeceoError as exc:
            raise fail(str(exc)) from None
    _print_flags([flag], as_json=as_json, single=True)


chaos_app = typer.Typer(no_args_is_help=True, help="Fault injection (LIFECEO_CHAOS_ENABLED).")
app.add_typer(chaos_app, name="chaos")


def _print_faults(faults, *, as_json: bool) -> None:
    from datetime import UTC, datetime

    from rich.table import Table

    shown = [{"kind": fault.lever, "target": fault.target, "magnitude": float(fault.value),
              "expires_at": datetime.fromtimestamp(fault.until, UTC).isoformat()}
             for fault in faults]
    if as_json:
        print_json(shown)
        return
    table = Table("kind", "target", "magnitude", "expires at", title="faults in force",
                  title_justify="left")
    for fault in shown:
        table.add_row(fault["kind"], fault["target"], f"{fault['magnitude']:g}",
                      fault["expires_at"])
    console.print(table)


@chaos_app.command("inject")
def chaos_inject(
    kind: Annotated[str, typer.Argument(help="db_latency, route_errors, n_plus_one, memory_leak, "
                                             "loop_blocker, redis_outage, queue_stall, "
                                             "cold_cache or slow_dependency.")],
    magnitude: Annotated[float, typer.Option(help="In the kind's unit (README).")],
    seconds: Annotated[int, typer.Option(min=1, help="Until it expires by itself.")],
    target: Annotated[str | None, typer.Option(
        help="A route class, queue, namespace, cache/ratelimit, http/smtp; all if omitted.")]
        = None,
    as_json: JsonOption = False,
) -> None:
    """Start a fault in every running process; logged with "cli" as the actor."""
    from lifeceo.errors import LifeceoError
    from lifeceo.platform.chaos import control
    from lifeceo.settings import get_settings

    with database() as url:
        try:
            fault = asyncio.run(control.inject(get_settings(), url, kind=kind,
                                               magnitude=magnitude, seconds=seconds,
                                               target=target))
        except LifeceoError as exc:
            raise fail(str(exc)) from None
    _print_faults([fault], as_json=as_json)


@chaos_app.command("clear")
def chaos_clear(
    kind: Annotated[str | None, typer.Argument(help="One kind; every kind if omitted.")] = None,
    as_json: JsonOption = False,
) -> None:
    """End faults in every running process; lists those cleared."""
    from lifeceo.errors import LifeceoError
    from lifeceo.platform.chaos import control
    from lifeceo.settings import get_settings

    with database() as url:
        try:
            cleared = asyncio.run(control.clear(get_settings(), url, kind=kind))
        except LifeceoError as exc:
            raise fail(str(exc)) from None
    _print_faults(cleared, as_json=as_json)


@chaos_app.command("status")
def chaos_status(as_json: JsonOption = False) -> None:
    """The faults in force, and how many running processes answered."""
    from lifeceo.errors import LifeceoError
    from lifeceo.platform.chaos import control
    from lifeceo.settings import get_settings

    with database() as url:
        try:
            faults, processes = asyncio.run(control.status(get_settings(), url))
        except LifeceoError as exc:
            raise fail(str(exc)) from None
    if as_json:
        print_json({"faults": [{"kind": fault.lever, "target": fault.target,
                                "magnitude": float(fault.value), "until": fault.until}
                               for fault in faults], "processes": processes})
        return
    _print_faults(faults, as_json=False)
    console.print(f"{len(processes)} processes answered")


monitor_app = typer.Typer(no_args_is_help=True, help="The performance monitor's findings.")
app.add_typer(monitor_app, name="monitor")


@monitor_app.command("status")
def monitor_status(as_json: JsonOption = False) -> None:
    """The leader, its last evaluation, and the incidents by state."""
    from lifeceo.platform.monitor import control
    from lifeceo.settings import get_settings

    with database() as url:
        found = asyncio.run(control.status(get_settings(), url))
    if as_json:
        print_json(found.model_dump(mode="json"))
        return
    state = "paused (advanced-monitoring is off)" if found.paused else (
        "on" if found.enabled else "off (LIFECEO_MONITOR_ENABLED=false)")
    console.print(f"monitor: {state}, every {found.interval_seconds:g} s", highlight=False)
    console.print(f"leader: {found.leader or 'none yet'}, last evaluation: "
                  f"{found.last_evaluation_at.isoformat() if found.last_evaluation_at else '-'}",
                  highlight=False)
    console.print("incidents: " + ", ".join(f"{count} {state}" for state, count
                                            in found.incidents.items()), highlight=False)


@monitor_app.command("incidents")
def monitor_incidents(
    state: Annotated[str | None, typer.Option(help="open, mitigated or resolved.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: JsonOption = False,
) -> None:
    """Incidents, newest first, as GET /api/v1/admin/monitor/incidents lists them."""
    from rich.table import Table

    from lifeceo.platform.monitor import control
    from lifeceo.platform.monitor.incidents import STATES
    from lifeceo.settings import get_settings

    if state is not None and state not in STATES:
        raise fail(f"--state must be one of {', '.join(STATES)}")
    with database() as url:
        found = asyncio.run(control.incidents(get_settings(), url, state=state, limit=limit))
    if as_json:
        print_json([incident.model_dump(mode="json") for incident in found])
        return
    table = Table("id", "state", "severity", "detector", "label", "opened", "detections",
                  "summary", title="incidents", title_justify="left")
    for incident in found:
        table.add_row(str(incident.id), incident.state, incident.severity, incident.detector,
                      incident.label, incident.opened_at.isoformat(timespec="seconds"),
                      str(incident.detections), incident.summary)
    console.print(table)


@monitor_app.command("actions")
def monitor_actions(
    outcome: Annotated[str | None, typer.Option(
        help="awaiting_approval, verifying, mitigated, undone, rejected, failed, dry_run or "
             "accepted.")]
        = None,
    limit: Annotated[int, typer.Option(min=1, max=100)] = 50,
    as_json: JsonOption = False,
) -> None:
    """Remediation actions, those awaiting approval first, as the admin API lists them."""
    from rich.table import Table

    from lifeceo.platform.monitor import control
    from lifeceo.platform.monitor.remediation import Outcome
    from lifeceo.settings import get_settings

    if outcome is not None and outcome not in {each.value for each in Outcome}:
        raise fail(f"--outcome must be one of {', '.join(each.value for each in Outcome)}")
    with database() as url:
        found = asyncio.run(control.actions(get_settings(), url, outcome=outcome, limit=limit))
    if as_json:
        print_json([action.model_dump(mode="json") for action in found])
        return
    table = Table("id", "incident", "action", "lever", "target", "outcome", "proposed", "actor",
                  "note", title="actions", title_justify="left")
    for action in found:
        table.add_row(str(action.id), str(action.incident_id), action.action, action.lever,
                      action.target, action.outcome,
                      action.proposed_at.isoformat(timespec="seconds"), action.actor,
                      action.note)
    console.print(table)


@monitor_app.command("approve")
def monitor_approve(action_id: Annotated[int, typer.Argument(min=1)],
                    as_json: JsonOption = False) -> None:
    """Approve an action awaiting approval: its lever is pulled in every running process."""
    _decide_action("approve", action_id, as_json=as_json)


@monitor_app.command("reject")
def monitor_reject(action_id: Annotated[int, typer.Argument(min=1)],
                   note: Annotated[str, typer.Option(help="Why, kept with it (500 "
                                                          "characters at most).")] = "",
                   as_json: JsonOption = False) -> None:
    """Reject an action awaiting approval: nothing is pulled."""
    from lifeceo.platform.monitor.schemas import MAX_NOTE_CHARS

    if len(note) > MAX_NOTE_CHARS:
        raise fail(f"--note is at most {MAX_NOTE_CHARS} characters")
    _decide_action("reject", action_id, note=note, as_json=as_json)


def _decide_action(decision: str, action_id: int, *, note: str = "", as_json: bool) -> None:
    from lifeceo.errors import LifeceoError
    from lifeceo.platform.monitor import control
    from lifeceo.settings import get_settings

    with database() as url:
        try:
            decided = asyncio.run(
                control.approve(get_settings(), url, action_id=action_id)
                if decision == "approve" else
                control.reject(get_settings(), url, action_id=action_id, note=note))
        except LifeceoError as exc:
            raise fail(str(exc)) from None
    if as_json:
        print_json(decided.model_dump(mode="json"))
        return
    console.print(f"action {decided.id} ({decided.action} {decided.lever} {decided.target}): "
                  f"{decided.outcome}", highlight=False)


@monitor_app.command("eval")
def monitor_eval(
    faults: Annotated[str | None, typer.Option(
        help="Comma-separated fault kinds; every kind this deployment supports if omitted "
             "(redis_outage only with LIFECEO_REDIS_URL).")] = None,
    clean_seconds: Annotated[float, typer.Option(
        min=0, help="The clean period before the first fault: its incidents are false "
                    "positives.")] = 600,
    fault_seconds: Annotated[float, typer.Option(min=5, help="How long each fault lasts.")] = 60,
    recovery_seconds: Annotated[float, typer.Option(
        min=0, help="At most this long after each fault for its incidents to resolve.")] = 180,
    workers: Annotated[int, typer.Option(min=1, help="Server worker processes.")] = 2,
    connections: Annotated[int, typer.Option(min=1, help="Background load connections.")] = 4,
    delay_ms: Annotated[int, typer.Option(
        min=0, help="Each connection's pause between requests.")] = 25,
    users: Annotated[int, typer.Option(min=1)] = 200,
    posts: Annotated[int, typer.Option(min=1)] = 5_000,
    events: Annotated[int, typer.Option(min=1)] = 200,
    data_dir: Annotated[Path, typer.Option(help="Its own data set, reused across runs.")]
        = Path(".lifeceo-monitor-eval"),
    output_dir: Annotated[Path, typer.Option(help="Where the scorecard's JSON and Markdown go.")]
        = Path("bench/results"),
) -> None:
    """Score the monitor against injected faults on a real `lifeceo serve` under load.

    Runs a clean period, then each fault in turn (injected, held, cleared, recovered from), and
    writes bench/results/monitor-eval-TIME.json and .md: per fault, detected or not, by which
    detector, time to detect, actions and time to mitigate; false positives; recall.
    """
    import os

    from lifeceo.bench import faults as fault_plan
    from lifeceo.bench.monitor_eval import EvalOptions, run
    from lifeceo.bench.workloads import LOGGED_IN_USERS

    available = fault_plan.supported(redis=bool(os.environ.get("LIFECEO_REDIS_URL")))
    chosen = available if faults is None else tuple(
        kind.strip() for kind in faults.split(",") if kind.strip())
    unknown = sorted(set(chosen) - set(available))
    if unknown or not chosen:
        raise fail(f"faults not available here: {', '.join(unknown) or '(none given)'}; "
                   f"choose from {', '.join(available)}")
    if users < LOGGED_IN_USERS:
        raise fail(f"the load logs in {LOGGED_IN_USERS} seeded users; --users must be at least "
                   "that")
    options = EvalOptions(
        data_dir=data_dir.resolve(), output_dir=output_dir, users=users, posts=posts,
        events=events, workers=workers, faults=chosen, clean_seconds=clean_seconds,
        fault_seconds=fault_seconds, recovery_seconds=recovery_seconds,
        connections=connections, delay_ms=delay_ms)
    try:
        scorecard = run(options, console)
    except RuntimeError as exc:
        raise fail(str(exc)) from None
    console.print(f"[green]scorecard[/green]: {scorecard} and {scorecard.with_suffix('.json')}")


if __name__ == "__main__":
    app()
