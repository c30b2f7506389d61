"""The coordinator's day: the Today board, intraday decisions, the duty routine and the dashboards.

ops reads every domain below it; nothing imports ops (DESIGN.md, layers in pyproject).
"""
