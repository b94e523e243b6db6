"""Pure analysis: scoring, statistics and confidentiality rules.

Nothing here imports Flask or SQLAlchemy. Plain values go in (responses as dicts of answers,
team trees as tuples), frozen dataclasses come out, so that every figure in a report can be
checked by hand in a unit test.
"""
