"""Database layer: engine, models, migrations, tenant-bound sessions, transactions, storage."""
