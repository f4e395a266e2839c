"""watchhouse: trustworthy recommendation data from streaming / VOD platform logs."""

__version__ = "0.1.0"
