"""The site's own page: its name, clock and country, and the skills agents can be certified for."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.response import Template

from backend.accounts import service
from backend.accounts.schemas import SiteForm, SkillForm
from backend.core.errors import DomainError
from backend.core.security import requires
from backend.core.templating import page
from backend.core.web import CurrentPrincipal, Db, FormBody


async def site_context(db: Db, principal: CurrentPrincipal, **extra: Any) -> dict[str, Any]:
    site = await service.get_site(db, principal.site_id)
    skills = await service.list_skills(db, site_id=site.id)
    return {
        "site": site,
        "skills": skills,
        "error": None,
        "skill_error": None,
        "skill_form": None,
        "saved": False,
        **extra,
    }


class SiteController(Controller):
    """Coordinators read the site's set-up; admins change it."""

    path = "/admin/site"
    guards = [requires("coordinator")]
    include_in_schema = False

    @get("/", name="admin:site")
    async def show(self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal) -> Template:
        return page(request, "accounts/admin_site.html", await site_context(db, principal))

    @post("/", name="admin:site-save", status_code=200, guards=[requires("admin")])
    async def save(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, data: Annotated[SiteForm, FormBody]
    ) -> Template:
        site = await service.get_site(db, principal.site_id)
        try:
            await service.update_site(db, site, name=data.name, timezone=data.timezone, country=data.country)
        except DomainError as error:
            context = await site_context(db, principal, error=error)
            return page(request, "accounts/admin_site.html", context, status_code=error.status_code)
        return page(request, "accounts/admin_site.html", await site_context(db, principal, saved=True))

    @post("/skills", name="admin:skill-add", status_code=200, guards=[requires("admin")])
    async def add_skill(
        self, request: Request[Any, Any, Any], db: Db, principal: CurrentPrincipal, data: Annotated[SkillForm, FormBody]
    ) -> Template:
        site = await service.get_site(db, principal.site_id)
        try:
            await service.add_skill(db, site=site, code=data.code, name=data.name, name_zh=data.name_zh)
        except DomainError as error:
            context = await site_context(db, principal, skill_error=error, skill_form=data)
            return page(request, "accounts/admin_site.html", context, status_code=error.status_code)
        return page(request, "accounts/admin_site.html", await site_context(db, principal))
