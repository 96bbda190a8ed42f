"""Unit grids (单元网格, DOMAIN.md §1): their codes, numbering and layers."""
