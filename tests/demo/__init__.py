"""Tests of the synthetic demo district."""
