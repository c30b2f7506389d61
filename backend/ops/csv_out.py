"""The ops pages' CSV downloads: the writer lives in ``backend.core.csv_out`` (the requests board writes the
same way)."""

from __future__ import annotations

from backend.core.csv_out import BOM, MEDIA_TYPE, cell, csv_response, csv_text

__all__ = ["BOM", "MEDIA_TYPE", "cell", "csv_response", "csv_text"]
