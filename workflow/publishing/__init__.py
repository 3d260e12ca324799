"""Publication: the channels that carry a published item to the public, and the catalogue site.

A peer of the shells (design.md): it reads what the engine wrote (``publications``,
``publication_jobs``) and asks the engine to record what happened; it decides no rule of its own.
"""
