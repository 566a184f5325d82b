-- nearmiss on PostgreSQL (>= 14): one database, one owner role that creates the schema,
-- one role per authority replica set that reads and writes, one read-only role for
-- auditors' and analysts' ad-hoc queries and for backups. Run as a superuser:
--   psql -v authority_password="'...'" -v reader_password="'...'" -f setup.sql
-- The authority creates its own tables on start (idempotent, `nm_` prefix), so the
-- authority role owns the schema it writes. Passwords: prefer a pgpass file or SCRAM
-- with client certificates over a password in any config file.

\set ON_ERROR_STOP on

CREATE ROLE nearmiss_authority LOGIN PASSWORD :authority_password;
CREATE ROLE nearmiss_reader LOGIN PASSWORD :reader_password;

CREATE DATABASE nearmiss OWNER nearmiss_authority ENCODING 'UTF8' TEMPLATE template0;
\connect nearmiss

REVOKE ALL ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO nearmiss_authority;
GRANT USAGE ON SCHEMA public TO nearmiss_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE nearmiss_authority IN SCHEMA public
    GRANT SELECT ON TABLES TO nearmiss_reader;

-- Every acknowledged report must survive a crash of the database host: the authority
-- answers a lab only after COMMIT returns.
ALTER DATABASE nearmiss SET synchronous_commit = on;
-- Bound what one stuck client can hold: the log's state row is locked per batch.
ALTER ROLE nearmiss_authority SET idle_in_transaction_session_timeout = '60s';
ALTER ROLE nearmiss_authority SET lock_timeout = '30s';
ALTER ROLE nearmiss_authority SET statement_timeout = '60s';
ALTER ROLE nearmiss_reader SET default_transaction_read_only = on;
