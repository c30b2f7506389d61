"""The site's own page: its name, clock and country, and the skills agents can be certified for."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.response import Template

from backend.accounts import service
from backend.accounts.schemas import SiteForm, SiteSettingsForm, SkillForm, SkillNamesForm
from backend.accounts.site_settings import site_settings, update_site_settings
from backend.core.bounds import PathId
from backend.core.errors import DomainError, NotFound
from backend.core.security import requires
from backend.core.templating import page
from backend.core.web import AnyRequest, CurrentPrincipal, Db, FormBody


async def site_context(db: Db, principal: CurrentPrincipal, **extra: Any) -> dict[str, Any]:
    site = await service.get_site(db, principal.site_id)
    skills = await service.list_skills(db, site_id=site.id)
    blank = {"error": None, "skill_error": None, "skill_form": None, "settings_error": None, "saved": False}
    blank["renamed"] = None  # the skill whose new names were refused
    return {"site": site, "skills": skills, "settings": site_settings(site), **blank, **extra}


class SiteController(Controller):
    """Coordinators read the site's set-up; admins change it."""

    path = "/admin/site"
    guards = [requires("coordinator")]
    include_in_schema = False

    @get("/", name="admin:site")
    async def show(self, request: AnyRequest, db: Db, principal: CurrentPrincipal) -> Template:
        return page(request, "accounts/admin_site.html", await site_context(db, principal))

    @post("/", name="admin:site-save", status_code=200, guards=[requires("admin")])
    async def save(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, data: Annotated[SiteForm, FormBody]
    ) -> Template:
        site = await service.get_site(db, principal.site_id)
        try:
            await service.update_site(db, site, name=data.name, timezone=data.timezone, country=data.country)
        except DomainError as error:
            context = await site_context(db, principal, error=error)
            return page(request, "accounts/admin_site.html", context, status_code=error.status_code)
        return page(request, "accounts/admin_site.html", await site_context(db, principal, saved=True))

    @post("/settings", name="admin:site-settings", status_code=200)
    async def save_settings(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, data: Annotated[SiteSettingsForm, FormBody]
    ) -> Template:
        """Coordinators run the centre, so they tune its deadline, staffing targets and roster rules."""
        site = await service.get_site(db, principal.site_id)
        try:
            await update_site_settings(
                db,
                site,
                availability_deadline_weekday=data.availability_deadline_weekday,
                availability_deadline_time=data.availability_deadline_time,
                availability_horizon_weeks=data.availability_horizon_weeks,
                max_weekly_hours=data.max_weekly_hours,
                service_level_target=data.service_level_percent / 100,
                answer_within_seconds=data.answer_within_seconds,
                max_occupancy=data.max_occupancy_percent / 100,
                shrinkage=data.shrinkage_percent / 100,
                staffing_model=data.staffing_model,
                average_patience_seconds=data.average_patience_seconds,
                min_shift_hours=data.min_shift_hours,
                max_shift_hours=data.max_shift_hours,
                max_shifts_per_day=data.max_shifts_per_day,
                min_rest_hours=data.min_rest_hours,
                break_after_hours=data.break_after_hours or None,
                fairness_spare_cover=data.spare_cover_percent / 100,
                **data.marketplace_changes(),
            )
        except DomainError as error:
            context = await site_context(db, principal, settings_error=error)
            return page(request, "accounts/admin_site.html", context, status_code=error.status_code)
        return page(request, "accounts/admin_site.html", await site_context(db, principal, saved=True))

    @post("/skills", name="admin:skill-add", status_code=200, guards=[requires("admin")])
    async def add_skill(
        self, request: AnyRequest, db: Db, principal: CurrentPrincipal, data: Annotated[SkillForm, FormBody]
    ) -> Template:
        site = await service.get_site(db, principal.site_id)
        try:
            await service.add_skill(db, site=site, code=data.code, name=data.name, name_zh=data.name_zh)
        except DomainError as error:
            context = await site_context(db, principal, skill_error=error, skill_form=data)
            return page(request, "accounts/admin_site.html", context, status_code=error.status_code)
        return page(request, "accounts/admin_site.html", await site_context(db, principal))

    @post("/skills/{skill_id:int}", name="admin:skill-rename", status_code=200, guards=[requires("admin")])
    async def rename_skill(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        skill_id: PathId,
        data: Annotated[SkillNamesForm, FormBody],
    ) -> Template:
        """Name a skill in English and Chinese: every page shows the reader's."""
        site = await service.get_site(db, principal.site_id)
        try:
            await service.rename_skill(db, site=site, skill_id=skill_id, name=data.name, name_zh=data.name_zh)
        except NotFound:
            raise
        except DomainError as error:
            context = await site_context(db, principal, skill_error=error, renamed=skill_id)
            return page(request, "accounts/admin_site.html", context, status_code=error.status_code)
        return page(request, "accounts/admin_site.html", await site_context(db, principal, saved=True))
