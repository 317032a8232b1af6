"""Storage: SQLAlchemy 2 (asyncio) tables, repositories, unit of work, Alembic migrations."""
