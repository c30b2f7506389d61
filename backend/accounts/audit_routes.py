"""Admins browse the audit log: newest first, filtered by object or actor."""

from __future__ import annotations

from litestar import Controller, get
from litestar.response import Template

from backend.accounts.audit import PAGE_SIZE, browse_audit
from backend.core.bounds import Page
from backend.core.security import requires
from backend.core.templating import page
from backend.core.web import AnyRequest, Db


class AuditController(Controller):
    path = "/admin/audit"
    include_in_schema = False
    guards = [requires("admin")]

    @get("/", name="admin:audit")
    async def audit(self, request: AnyRequest, db: Db, object_type: str = "", actor: str = "", p: Page = 1) -> Template:
        entries, total = await browse_audit(db, object_type=object_type, actor=actor, page_number=p)
        context = {
            "entries": entries,
            "total": total,
            "page_number": max(p, 1),
            "pages": max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
            "object_type": object_type,
            "actor": actor,
        }
        return page(request, "accounts/admin_audit.html", context)
