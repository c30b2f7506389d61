"""The ops pages' charts: the drawing lives in ``backend.core.charts`` (the requests board draws the same way)."""

from __future__ import annotations

from backend.core.charts import Chart, Series, number_text, render_chart

__all__ = ["Chart", "Series", "number_text", "render_chart"]
