"""Alembic environment: migrations run on the engine handed over by ``geogrid.db.engine``."""

from alembic import context

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, transaction_per_migration=False)
    context.run_migrations()
