"""The store: SQLModel tables, engines and Alembic migrations.

SQLite by default, PostgreSQL when ``LIFTLAB_DATABASE_URL`` names one.
"""
