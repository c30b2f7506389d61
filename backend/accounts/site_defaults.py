"""Defaults of a site's settings that code without the database needs too (no imports, so the solver stays pure).

``site_settings.SiteSettings`` uses them as its field defaults; the roster solver's ``SiteRules`` as its own.
"""

from __future__ import annotations

# Share of the needed hours the roster may schedule beyond demand to give willing agents their fair share.
FAIRNESS_SPARE_COVER = 0.02
