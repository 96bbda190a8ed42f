"""Patrol (巡查, DOMAIN.md §5): supervisors, their assigned grids and shifts, GPS fixes."""
