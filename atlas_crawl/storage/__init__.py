"""PostgreSQL storage: connection, migrations, recording checks, reading history."""
