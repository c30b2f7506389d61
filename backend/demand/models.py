"""Demand: contact history, forecast overrides and staffing."""

from __future__ import annotations
