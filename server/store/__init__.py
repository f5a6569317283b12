"""MongoDB queries, one module per collection. Functions take keyword arguments, return models."""
