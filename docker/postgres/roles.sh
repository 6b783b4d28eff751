#!/bin/sh
# tapbank's database roles, made by the postgres image the first time its volume starts empty
# (compose mounts this file into /docker-entrypoint-initdb.d/):
#   tapbank          the owner: owns the database and runs the migrations
#                    (TAPBANK_MIGRATION_DATABASE_URL)
#   tapbank_runtime  a group no one logs in as; migration 0011 grants it what the app needs
#   tapbank_app      the API's and the workers' login (DATABASE_URL), a member of that group
# Neither login is a superuser or may make roles or databases. The passwords are read from the
# environment by psql itself: they are on no command line and in no file.
set -eu
: "${TAPBANK_OWNER_PASSWORD:?set TAPBANK_OWNER_PASSWORD}"
: "${TAPBANK_RUNTIME_PASSWORD:?set TAPBANK_RUNTIME_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
\getenv owner_password TAPBANK_OWNER_PASSWORD
\getenv runtime_password TAPBANK_RUNTIME_PASSWORD
\getenv database POSTGRES_DB
CREATE ROLE tapbank LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_password';
CREATE ROLE tapbank_runtime NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE ROLE tapbank_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'runtime_password'
    IN ROLE tapbank_runtime;
ALTER DATABASE :"database" OWNER TO tapbank;
SQL
