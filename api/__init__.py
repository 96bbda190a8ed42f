"""The HTTP layer of geogrid: a thin FastAPI application over the core library."""
