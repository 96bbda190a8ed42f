"""Satellite change patches (图斑): dispatch, handling and verification (DOMAIN.md §6)."""
