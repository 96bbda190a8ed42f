"""Components (管理部件): the coded inventory of city assets (DOMAIN.md §2)."""
