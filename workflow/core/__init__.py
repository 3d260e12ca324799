"""The pure core: definitions, rules, calendar and deadline arithmetic, the audit chain. No database, no clock."""
