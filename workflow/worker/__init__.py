"""The worker shell: one pass (``passes``), its schedule and signals (``run``), timed fires and email links."""
