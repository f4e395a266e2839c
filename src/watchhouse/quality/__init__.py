"""Data-quality helpers: scoring the abuse filter, (later) the GE runner."""
