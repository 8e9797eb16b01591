-- Cirrus: first-start initialisation of the PostgreSQL container (docker-compose.yml).
--
-- The postgres image runs this once, as the superuser, when its data volume is empty
-- (mounted into /docker-entrypoint-initdb.d/). It creates the application role `cirrus`
-- (login, no superuser) with the password from CIRRUS_DB_PASSWORD, and one database per
-- service, owned by `cirrus`: every service migrates its own schema at start.
--
-- Changing CIRRUS_DB_PASSWORD later does not re-run this script; on an existing volume run
--   docker-compose exec postgres psql -U postgres -c "ALTER ROLE cirrus PASSWORD '...'"
-- Needs psql >= 15 (\getenv); the image is postgres:16.

\set ON_ERROR_STOP on

\getenv cirrus_password CIRRUS_DB_PASSWORD
\if :{?cirrus_password}
\else
  \set cirrus_password ''
\endif
SELECT length(:'cirrus_password') > 0 AS has_cirrus_password \gset
\if :has_cirrus_password
\else
  \warn 'CIRRUS_DB_PASSWORD is not set in the postgres container environment'
  DO $$ BEGIN RAISE EXCEPTION 'CIRRUS_DB_PASSWORD is required'; END $$;
\endif

CREATE ROLE cirrus LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'cirrus_password';
\unset cirrus_password

CREATE DATABASE auth OWNER cirrus;
CREATE DATABASE metadata OWNER cirrus;
CREATE DATABASE blob OWNER cirrus;
CREATE DATABASE thumbnail OWNER cirrus;

-- Only their owner (and the superuser) may connect.
REVOKE ALL ON DATABASE auth, metadata, blob, thumbnail FROM PUBLIC;
