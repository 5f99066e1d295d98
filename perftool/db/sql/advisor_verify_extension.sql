-- --verify-on: the extension an operator class needs (pg_trgm), created inside the rolled-back transaction.
CREATE EXTENSION IF NOT EXISTS {extension}
