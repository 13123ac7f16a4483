"""The HTTP surface: routers, their request and response schemas, and the typed
dependencies that reach the container."""
