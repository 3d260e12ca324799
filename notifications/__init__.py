"""Notifications: message planning, rendering, transports and the outbox sender."""
