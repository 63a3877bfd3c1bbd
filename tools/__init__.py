"""Wrapped causal tools behind one registry: loading, profiling, discovery, inference."""
