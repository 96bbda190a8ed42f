"""geogrid: grid-based city management (网格化城市管理) for a district command centre.

The core library. It knows nothing of HTTP or web pages: ``api/`` and ``maps/`` call it.
"""

__version__ = "0.1.0"
