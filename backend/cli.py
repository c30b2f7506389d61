"""The ``weft`` command. Every subcommand uses the database named by ``WEFT_DATABASE_URL``."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import click
import msgspec
import uvicorn
from sqlalchemy import select

from backend.accounts import service, tokens
from backend.accounts.models import Role, Site, Tier
from backend.accounts.zones import site_zone
from backend.app import configure_logging
from backend.availability.service import parse_week
from backend.certifications.service import ADMIN_OVERRIDE, grant_certification, mark_onboarded
from backend.core.db import Actor, Database, act_as, utcnow
from backend.core.errors import DomainError
from backend.core.migrate import migrate as run_migrations
from backend.core.settings import Settings, SettingsError, load_settings
from backend.core.slots import IsoWeek
from backend.core.web import uvicorn_log_config
from backend.demo import DEMO_LOGINS, load_demo
from backend.notify import keys
from backend.payouts import standin
from backend.roster import service as roster
from backend.roster.jobs import solve_and_wait
from backend.roster.models import Roster, SolveRun, SolveStatus
from backend.worker import run_worker

T = TypeVar("T")
CLI_ACTOR = Actor(id=None, label="cli", role="system", reason="weft command line")


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


def _run(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work(session)`` in one audited unit of work, reporting rule violations plainly."""

    async def main() -> T:
        database = Database.from_url(settings.database_url)
        try:
            async with database.session(write=True) as session:
                act_as(session, CLI_ACTOR)
                return await work(session)
        finally:
            await database.dispose()

    try:
        return asyncio.run(main())
    except DomainError as error:
        field = f" ({error.field})" if error.field else ""
        raise click.ClickException(f"{error.message}{field}") from None


@click.group()
def main() -> None:
    """Weft: availability, shifts, learning and pay for part-time contact-centre agents."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers", default=1, show_default=True, type=int, help="Web processes (use PostgreSQL for more than one)."
)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the web app with uvicorn."""
    settings = _settings()
    if workers > 1 and settings.is_sqlite:
        click.echo("note: several workers on SQLite share one writer; PostgreSQL scales better", err=True)
    uvicorn.run(
        "backend.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_config=uvicorn_log_config(),
        log_level="info",
    )


@main.command()
@click.option("--once", is_flag=True, help="Send what is due now and exit (for cron or a health check).")
def worker(once: bool) -> None:
    """Send queued Web Push notifications (run any number of these on PostgreSQL)."""
    settings = _settings()
    configure_logging()
    if once:
        report = asyncio.run(run_worker(settings, once=True))
        assert report is not None
        click.echo(
            f"push: {report.sent} sent, {report.dropped} dropped, {report.retried} to retry, {report.failed} failed"
        )
        return
    if settings.is_sqlite and settings.runs_push_in_process:
        click.echo("note: `weft serve` on SQLite already sends pushes in-process (WEFT_PUSH_IN_PROCESS)", err=True)
    click.echo(f"sending pushes every {settings.push_worker_interval_seconds:g} s; Ctrl-C stops", err=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_worker(settings))


@main.command("stripe-standin")
@click.option("--port", default=standin.DEFAULT_PORT, show_default=True, type=int)
@click.option("--webhook-url", default=None, help="Where platform events go (Weft's /stripe/webhook).")
@click.option("--connect-webhook-url", default=None, help="Where Connect events go (account and payout events).")
@click.option("--webhook-secret", default=standin.DEFAULT_WEBHOOK_SECRET, show_default=True)
@click.option("--connect-webhook-secret", default=standin.DEFAULT_CONNECT_WEBHOOK_SECRET, show_default=True)
@click.option(
    "--requests-per-second", default=None, type=click.FloatRange(min=0, min_open=True), help="Answer 429 beyond it."
)
def stripe_standin(
    port: int,
    webhook_url: str | None,
    connect_webhook_url: str | None,
    webhook_secret: str,
    connect_webhook_secret: str,
    requests_per_second: float | None,
) -> None:
    """Run the local Stripe stand-in on 127.0.0.1 (development and tests only: it is not Stripe)."""
    app = standin.create_standin(
        webhook_url=webhook_url,
        connect_webhook_url=connect_webhook_url,
        webhook_secret=webhook_secret,
        connect_webhook_secret=connect_webhook_secret,
        requests_per_second=requests_per_second,
    )
    click.echo(
        f"Stripe stand-in on http://127.0.0.1:{port} (any sk_test_ key); point Weft at it with "
        f"WEFT_STRIPE_API_BASE=http://127.0.0.1:{port}",
        err=True,
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="info", timeout_graceful_shutdown=1)


@main.command()
@click.option("--to", "revision", default="head", show_default=True, help="A revision id, 'head', or 'base' (empty).")
def migrate(revision: str) -> None:
    """Upgrade the schema to head, or move it to any revision."""
    settings = _settings()
    run_migrations(settings.database_url, revision)
    if revision == "head":  # the push key, so the app's reads find it (GET never writes)
        _run(settings, lambda session: keys.vapid_pair(session, settings))
    click.echo(f"schema at {revision}")


@main.command()
def demo() -> None:
    """Load the demo site, skills and people (running it twice changes nothing)."""
    settings = _settings()
    loaded = _run(settings, lambda session: load_demo(session, settings))
    click.echo(
        f"demo data ready ({loaded.users} new users, {loaded.availability_weeks} new availability weeks, "
        f"{loaded.history_rows} new history rows, {loaded.courses} new courses, {loaded.cases} new cases, "
        f"{loaded.handover_notes} new handover notes, {loaded.work_records} new work records, "
        f"{loaded.locked_periods} pay periods locked)"
    )
    for line in _demo_rosters(settings):
        click.echo(line)
    click.echo(f"demo logins (password for all: {DEMO_LOGINS[0][2]}):")
    for role, email, _password in DEMO_LOGINS:
        click.echo(f"  {role:<12} {email}")


@main.command()
@click.option("--week", required=True, help="ISO week in the site's time zone, e.g. 2026-W49.")
@click.option("--site", "site_name", default=None, help="Site name (default: WEFT_SITE_NAME, else the first site).")
@click.option("--publish", is_flag=True, help="Publish the draft when the solve succeeds.")
def solve(week: str, site_name: str | None, publish: bool) -> None:
    """Solve a week's roster with the same rules and solver as the web page, showing progress."""
    settings = _settings()
    try:
        iso_week = parse_week(week)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    site_id = _run(settings, lambda session: _site_id(session, site_name or settings.site_name, site_name is None))
    limit = settings.solver_time_limit_seconds
    with click.progressbar(length=round(limit * 10), label=f"solving {iso_week}", show_eta=False) as bar:
        done = 0

        def advance(progress: Any) -> None:
            nonlocal done
            now = min(round(progress.elapsed_seconds * 10), bar.length)
            bar.label = f"solving {iso_week} [{progress.stage}]"
            if progress.under_coverage_slots is not None:
                bar.label += f" short {progress.under_coverage_slots / 2:g} h"
            bar.update(max(0, now - done))
            done = max(done, now)

        run_id = asyncio.run(_solve_in_new_database(settings, site_id, iso_week, advance))
        bar.update(bar.length)
    click.echo(_run(settings, lambda session: _finish_solve(session, run_id=run_id, publish=publish, site_id=site_id)))


async def _site_id(session: Any, name: str, fallback: bool) -> int:
    site = await session.scalar(select(Site).where(Site.name == name))
    if site is None and fallback:
        site = await service.default_site(session)
    if site is None:
        raise DomainError(f"no site named {name!r}", field="site")
    return site.id


async def _finish_solve(session: Any, *, run_id: int, publish: bool, site_id: int) -> str:
    run = await session.get(SolveRun, run_id)
    report = run.report or {}
    lines = [
        f"solve {run.id}: {run.status.value} in {run.elapsed_seconds:.1f} s",
        f"  under-coverage {report.get('under_coverage_slots', 0) / 2:g} agent-hours, "
        f"lower bound {report.get('lower_bound_slots', 0) / 2:g}, over-coverage "
        f"{report.get('over_coverage_slots', 0) / 2:g}",
    ]
    if run.error:
        lines.append(f"  {run.error}")
    if publish and run.status == SolveStatus.done:
        week_roster = await session.get(Roster, run.roster_id)
        site = await service.get_site(session, site_id)
        version = await roster.publish(session, site=site, roster=week_roster, published_by=None)
        lines.append(
            f"  published version {version.number} ({len(version.lines)} shifts, {version.open_seats} open seats)"
        )
    return "\n".join(lines)


DEMO_SOLVE_SECONDS = 8.0


def _demo_rosters(settings: Settings) -> list[str]:
    """Roster and publish this week and next for the demo site, unless already published: agents see shifts."""
    quick = msgspec.structs.replace(
        settings, solver_time_limit_seconds=min(settings.solver_time_limit_seconds, DEMO_SOLVE_SECONDS)
    )
    weeks = _run(settings, lambda session: _unpublished_demo_weeks(session, settings.site_name))
    lines = []
    for site_id, week in weeks:
        run_id = asyncio.run(_solve_in_new_database(quick, site_id, week))
        lines.append(_run(settings, partial(_finish_solve, run_id=run_id, publish=True, site_id=site_id)))
    return lines


async def _solve_in_new_database(settings: Settings, site_id: int, week: Any, listener: Any = None) -> int:
    database = Database.from_url(settings.database_url)
    try:
        return await solve_and_wait(database, settings, site_id=site_id, week=week, listener=listener)
    finally:
        await database.dispose()


async def _unpublished_demo_weeks(session: Any, site_name: str) -> list[tuple[int, Any]]:
    site = await session.scalar(select(Site).where(Site.name == site_name))
    this_week = IsoWeek.containing(utcnow(), site_zone(site))
    weeks = []
    for week in (this_week, this_week.shifted(1)):
        if (await roster.roster_of(session, site_id=site.id, week=week)).published_version == 0:
            weeks.append((site.id, week))
    return weeks


@main.group()
def user() -> None:
    """Manage users."""


@user.command("add")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password", default=None, help="Without one, the user cannot sign in until invited or reset.")
@click.option("--tier", default="junior", type=click.Choice([t.value for t in Tier]))
@click.option("--skills", default="", help="Comma-separated skill codes: agents are recorded certified and onboarded.")
def user_add(email: str, name: str, role: str, password: str | None, tier: str, skills: str) -> None:
    """Add a user directly (an admin's override, recorded in the audit log)."""
    settings = _settings()
    codes = [code.strip() for code in skills.split(",") if code.strip()]

    async def work(session: Any) -> int:
        site = await service.ensure_site(
            session, name=settings.site_name, timezone=settings.site_timezone, country=settings.site_country
        )
        new_user = await service.create_user(
            session, site=site, email=email, display_name=name, role=Role(role), password=password, tier=Tier(tier)
        )
        if codes:
            if new_user.role is not Role.agent:
                raise DomainError("--skills is for agents.", field="skills")
            for skill in await service.skills_by_code(session, site_id=site.id, codes=codes):
                await grant_certification(session, user=new_user, skill=skill, source=ADMIN_OVERRIDE)
            await mark_onboarded(session, user=new_user)
        return new_user.id

    user_id = _run(settings, work)
    click.echo(f"user {user_id} created: {email} ({role})")


@user.command("invite")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--tier", default="junior", type=click.Choice([t.value for t in Tier]))
def user_invite(email: str, name: str, tier: str) -> None:
    """Invite an agent and print the one-time link (no mail server is assumed)."""
    settings = _settings()

    async def work(session: Any) -> str:
        site = await service.default_site(session)
        _invitation, token = await service.invite_agent(
            session,
            site=site,
            email=email,
            display_name=name,
            invited_by=None,
            valid_hours=settings.invitation_valid_hours,
            tier=Tier(tier),
        )
        return token

    token = _run(settings, work)
    click.echo(f"{settings.base_url.rstrip('/')}/invite/{token}")


@main.group()
def token() -> None:
    """Manage API tokens."""


@token.command("create")
@click.option("--email", required=True, help="The token's owner.")
@click.option("--name", default="cli", show_default=True)
@click.option("--role", default=None, type=click.Choice([r.value for r in Role]), help="Defaults to the owner's role.")
def token_create(email: str, name: str, role: str | None) -> None:
    """Create an API token; the token alone is printed on the last line, for scripts."""
    settings = _settings()

    async def work(session: Any) -> str:
        owner = await service.find_user_by_email(session, email)
        if owner is None:
            raise DomainError(f"No user has the email {email}.", field="email")
        _token, secret = await tokens.create_token(session, user=owner, name=name, role=Role(role) if role else None)
        return secret

    secret = _run(settings, work)
    click.echo("token created; it will not be shown again:", err=True)
    sys.stdout.write(secret + "\n")


if __name__ == "__main__":
    main()
