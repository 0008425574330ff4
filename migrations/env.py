"""Alembic environment: runs on the connection platesvc.store.migrations hands it."""

from alembic import context
from geoalchemy2 import alembic_helpers

from platesvc.store.models import Base

config = context.config
connection = config.attributes["connection"]

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    include_object=alembic_helpers.include_object,
    process_revision_directives=alembic_helpers.writer,
    render_item=alembic_helpers.render_item,
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
