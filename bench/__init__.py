"""Benchmarks of geogrid, run with ``make bench`` (``python -m bench [SUITE ...]``).

Each suite starts from nothing it did not create itself: a throw-away PostGIS cluster on a
free port (fsync off), a freshly loaded demo district, and the servers it measures, all on
loopback. A suite returns one named section; ``bench/RESULTS.md`` keeps one section per suite
and a run replaces only the sections of the suites it ran.

Modules
-------
suite      what every suite receives (options) and returns (a section)
stack      the throw-away cluster and demo databases
servers    starting and stopping server processes
load       load generators: serial httpx, wrk (or an asyncio fallback)
mixed      a mixed load of map readers and supervisors' phones, optionally across a restart
report     machine facts, idle check, markdown tables, RESULTS.md sections
cpu        CPU other processes used while a measurement ran
tipg       the peer server (its own venv, the view it serves)
mvt        tile addresses covering the district, feature counts of decoded tiles
diagnose   a cold tile's time, layer by layer, without HTTP
tiles      suite "tiles": map layers of issue "foundation" (geogrid against tipg)
grid_update suite "grid-update": dry run and apply of a district-wide grid replacement
cases      suite "cases": indicators, hotspots and case imports at city scale
components suite "components": a component census planned and applied, tiles, statistics
patrol     suite "patrol": bulk ingest of a city day of GPS fixes
coverage   suite "coverage": a day's and a month's patrol coverage against a geopandas baseline
dispatch   suite "dispatch": 200,000 cases dispatched by responsibility rules
satellite  suite "satellite": 1,000 patches verified over a 10,000 × 10,000 pixel image pair
sanitation suite "sanitation": one city day's sweeping coverage (51 vehicles, 5 s fixes, 10 h)
stress     suite "stress": 50 clients' mixed load for 60 s, then the same load across a restart

A new suite is a module with ``run(stack, opts) -> Section`` registered in ``__main__.SUITES``.
"""
