"""Reports for auditors and the office: the compliance check, timeliness statistics, the annual report.

A peer of the shells (design.md): the store reads the rows, pure functions count them, renderers write
tables, charts and documents; nothing here changes an item.
"""
