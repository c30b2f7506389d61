"""Defaults of a site's settings that code without the database needs too (no imports, so the solver stays pure).

``site_settings.SiteSettings`` uses them as its field defaults; the roster solver's ``SiteRules`` as its own.
"""

from __future__ import annotations

# Share of the needed hours the roster may schedule beyond demand to give willing agents their fair share.
FAIRNESS_SPARE_COVER = 0.02

# The root causes an owner names when closing a request, until a site sets its own list (stored as typed; these
# defaults are worded in the reader's language by ``backend.requests.kinds.root_cause_label``).
REQUEST_ROOT_CAUSES = (
    "rules_unclear",
    "schedule_error",
    "pay_error",
    "system_fault",
    "training_gap",
    "communication",
    "no_fault",
    "other",
)
