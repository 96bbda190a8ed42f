"""Territory: district (区), streets (街道/镇), communities (社区) and the road network.

DOMAIN.md §1. The tables are created by migration 0001; unit grids live in ``geogrid.grids``.
"""
