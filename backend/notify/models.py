"""Notifications: in-app inbox, Web Push subscriptions, VAPID keys and the push outbox."""

from __future__ import annotations
