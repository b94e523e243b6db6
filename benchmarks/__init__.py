"""Benchmarks and load tests that run the app at the scale of a large organisation.

``python -m benchmarks run`` builds (or reuses) a synthetic organisation of 100,000 people and
measures throughput, latency, report aggregation, PDF rendering and the CSV import on SQLite
and PostgreSQL; see benchmarks/__main__.py and docs/PERFORMANCE.md.
"""
