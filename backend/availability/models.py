"""Availability: the 30-minute slots each agent offers, stored as slots."""

from __future__ import annotations
