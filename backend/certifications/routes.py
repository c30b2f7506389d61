"""The person page of the people admin: who an agent is, the skills they are certified for, their onboarding.

It sits here, above accounts, because it shows certifications; the rest of the people admin is
``backend.accounts.people_routes``.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Router, get, post
from litestar.response import Template

from backend.accounts import service
from backend.accounts.models import Role, Tier, User, UserStatus, skill_label
from backend.accounts.schemas import UserEditForm
from backend.certifications.service import skills_in_force
from backend.core.bounds import PathId
from backend.core.errors import DomainError, Forbidden
from backend.core.security import requires
from backend.core.templating import page
from backend.core.web import AnyRequest, CurrentPrincipal, Db, FormBody

PERSON_PAGE = "certifications/person.html"


class PersonController(Controller):
    """Coordinators see and edit an agent (admins anyone), with what the agent is certified for."""

    path = "/admin"
    include_in_schema = False
    guards = [requires("coordinator")]

    @get("/users/{user_id:int}", name="admin:user")
    async def user(self, request: AnyRequest, db: Db, principal: CurrentPrincipal, user_id: PathId) -> Template:
        user = await service.visible_user(db, principal, user_id)
        return page(request, PERSON_PAGE, await person_context(db, user))

    @post("/users/{user_id:int}", name="admin:user-save", status_code=200)
    async def save_user(
        self,
        request: AnyRequest,
        db: Db,
        principal: CurrentPrincipal,
        user_id: PathId,
        data: Annotated[UserEditForm, FormBody],
    ) -> Template:
        user = await service.visible_user(db, principal, user_id)
        try:
            await service.update_user(
                db,
                user,
                editor_role=principal.role,
                role=Role(data.role) if data.role else None,
                status=UserStatus(data.status),
                tier=Tier(data.tier),
                display_name=data.display_name,
            )
        except Forbidden:
            raise
        except DomainError as error:
            context = await person_context(db, user, error=error)
            return page(request, PERSON_PAGE, context, status_code=error.status_code)
        return page(request, PERSON_PAGE, await person_context(db, user, saved=True))


async def person_context(db: Db, user: User, **extra: Any) -> dict[str, Any]:
    held = (await skills_in_force(db, user_ids=[user.id])).get(user.id, set())
    skills = [skill_label(skill) for skill in await service.list_skills(db, site_id=user.site_id) if skill.id in held]
    return {"user": user, "skills": skills, "error": None, "saved": False, **extra}


router = Router(path="/", route_handlers=[PersonController])
