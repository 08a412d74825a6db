-- The application's PostgreSQL role in production: it reads and writes the data, but it
-- owns no table, so it can neither change nor delete audit entries, nor give itself the
-- right to (an owner can re-GRANT itself; see docs/SECURITY.md "The audit log").
--
-- Run as the owner role (the one that ran `diemcau migrate`) after every migration:
--   psql "$OWNER_URL" -v ON_ERROR_STOP=1 -v app=diemcau_app -f deploy/postgres-app-role.sql
-- The application then connects as :app (DIEMCAU_DATABASE_URL), never as the owner.
GRANT USAGE ON SCHEMA public TO :"app";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"app";
-- The audit log: appended to and read, never changed.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM :"app";
