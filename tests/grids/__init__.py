"""Tests of unit-grid rules, store and layers."""
