"""Coverage and novelty of synthetic tasks against real traces (see ``metrics`` for definitions)."""
