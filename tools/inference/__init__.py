"""Causal effect estimation on a discovered graph."""
