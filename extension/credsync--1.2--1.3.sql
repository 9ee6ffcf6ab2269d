-- credsync 1.2 -> 1.3: token_user_hash(), compact_batched(), app_functions()
-- STABLE, and a full-entropy installation secret for new installations.

\echo Use "ALTER EXTENSION credsync UPDATE TO '1.3'" to load this file. \quit

-- The user of the token whose SHA-256 (32 raw bytes) is given: the proxy
-- hashes the bearer token itself, so the token never reaches PostgreSQL,
-- where statement logging could record a bind parameter.
CREATE FUNCTION @extschema@.token_user_hash(token_sha256 bytea)
    RETURNS text
    AS 'MODULE_PATHNAME', 'credsync_token_user_hash'
    LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

REVOKE ALL ON FUNCTION @extschema@.token_user_hash(bytea) FROM PUBLIC;

-- compact() in batches of zones, each batch committed in its own
-- transaction, so that a zone's row lock is held only while its batch runs.
-- A procedure that commits cannot be SECURITY DEFINER nor carry a SET clause
-- (PostgreSQL then refuses COMMIT inside it): the library itself runs each
-- batch as the procedure's owner with search_path = pg_catalog, pg_temp,
-- as those clauses would (docs/operations.md, "Compaction on a schedule").
-- removed: rows removed, as compact() counts them.
CREATE PROCEDURE @extschema@.compact_batched(keep interval DEFAULT '30 days', batch integer DEFAULT 500,
        INOUT removed bigint DEFAULT NULL)
    AS 'MODULE_PATHNAME', 'credsync_compact_batched'
    LANGUAGE C;

REVOKE ALL ON PROCEDURE @extschema@.compact_batched(interval, integer, bigint) FROM PUBLIC;

-- A new installation's secret: 32 bytes from the server's CSPRNG
-- (pg_strong_random). 1.0 and 1.1 made it from two random UUIDs, which carry
-- 244 random bits, not 256. The function replaces the secret only if this
-- transaction inserted it, that is under CREATE EXTENSION (which runs the
-- 1.1 script, then the updates): an existing database keeps its secret,
-- because its backends and listeners hold the notify keys derived from it.
-- It is needed by this script alone, and dropped again.
CREATE FUNCTION @extschema@.renew_new_install_secret()
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'credsync_renew_new_install_secret'
    LANGUAGE C VOLATILE;
SELECT @extschema@.renew_new_install_secret();
DROP FUNCTION @extschema@.renew_new_install_secret();

-- An app function: grant_app() grants it from now on. Roles granted before
-- this update get it when grant_app()/grant_proxy() is run again (see
-- docs/operations.md, "Upgrades"). STABLE, not IMMUTABLE: the array's
-- regprocedure values are catalog lookups.
CREATE OR REPLACE FUNCTION @extschema@.app_functions()
    RETURNS regprocedure[]
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
    AS $$ SELECT ARRAY[
        '@extschema@.sync_push(text,text,bytea,uuid,bigint,uuid)',
        '@extschema@.sync_push_many(text,text,uuid[],bytea[],bigint[],uuid)',
        '@extschema@.sync_delete(text,text,uuid,bigint,uuid)',
        '@extschema@.sync_pull(text,text,bigint,integer,boolean)',
        '@extschema@.sync_pull_page(text,text,bigint,integer,boolean,bigint)',
        '@extschema@.sync_state(text,text)',
        '@extschema@.sync_zones(text)',
        '@extschema@.sync_account(text)',
        '@extschema@.token_user(text)',
        '@extschema@.token_user_hash(bytea)',
        '@extschema@.notify_key(text,text)'
    ]::pg_catalog.regprocedure[] $$;
