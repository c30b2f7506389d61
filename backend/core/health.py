"""``GET /healthz``: the process is up and serving, for load balancers and the benchmark's reference endpoint.

It touches no database on purpose: a liveness probe that fails when PostgreSQL
is slow would restart healthy web processes in the middle of a storm.
"""

from __future__ import annotations

from litestar import get


@get("/healthz", name="health", include_in_schema=False, cache=False)
async def healthz() -> dict[str, bool]:
    return {"ok": True}
