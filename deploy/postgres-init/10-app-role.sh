#!/bin/sh
# Run once by the postgres image when it creates its data folder: the application's own
# role. It owns no table (the `diemcau` owner runs the migrations and grants it what it
# needs: `diemcau migrate --app-role diemcau_app`), so it can neither change nor delete
# audit entries, nor switch the log's triggers off, nor grant itself those rights.
# An existing data folder skips this: create the role once by hand (README, "Production").
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v password="$DIEMCAU_APP_DB_PASSWORD" <<'SQL'
CREATE ROLE diemcau_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'password';
SQL
