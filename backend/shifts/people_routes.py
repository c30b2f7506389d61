"""The agent's work on their person page: a fragment the page (``/admin/users/{id}``) loads with htmx."""

from __future__ import annotations

from litestar import Controller, get
from litestar.response import Template

from backend.accounts import service as accounts
from backend.accounts.models import Role
from backend.accounts.zones import site_zone
from backend.core.bounds import PathId
from backend.core.db import utcnow
from backend.core.errors import NotFound
from backend.core.i18n import date_text
from backend.core.security import requires
from backend.core.slots import local_start
from backend.core.web import AnyRequest, CurrentPrincipal, Db
from backend.shifts import people

FRAGMENT = "shifts/_person_work.html"


class PersonWorkController(Controller):
    """Upcoming and recent shifts, hours this week against the cap, reliability, certifications, contact."""

    path = "/admin/users"
    include_in_schema = False
    guards = [requires("coordinator")]

    @get("/{user_id:int}/work", name="shifts:person-work")
    async def work(self, request: AnyRequest, db: Db, principal: CurrentPrincipal, user_id: PathId) -> Template:
        agent = await accounts.visible_user(db, principal, user_id)
        if agent.role is not Role.agent:
            raise NotFound("agent")
        site = await accounts.get_site(db, agent.site_id)
        zone = site_zone(site)
        now = utcnow()
        context = {
            "work": await people.person_work(db, agent=agent, site=site, now=now),
            "local": lambda slot: local_start(slot, zone),
            "day_of": lambda moment: date_text(moment.astimezone(zone).date()),
            "zone": zone.key,
        }
        return Template(template_name=FRAGMENT, context=context)
