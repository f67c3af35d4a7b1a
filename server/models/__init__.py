"""Every model module, imported so that ``Base.metadata`` is complete (Alembic, tests)."""

from server.models import actors, audits, blobs, deliveries, entities, forms, projects, submissions  # noqa: F401
