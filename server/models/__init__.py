"""Every model module, imported so that ``Base.metadata`` is complete (Alembic, tests)."""

from server.models import (  # noqa: F401
    actors,
    audits,
    blobs,
    credentials,
    deliveries,
    duplicates,
    entities,
    forms,
    indicators,
    projects,
    submissions,
)
