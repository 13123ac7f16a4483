"""Driver failures as the service's errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pymongo.errors import DuplicateKeyError, PyMongoError

from auth_api.errors import DependencyUnavailable


@asynccontextmanager
async def mongo_errors() -> AsyncIterator[None]:
    """Turn driver failures into the one error the API renders as 503."""
    try:
        yield
    except DuplicateKeyError:
        raise
    except PyMongoError as exc:
        raise DependencyUnavailable("mongodb") from exc
