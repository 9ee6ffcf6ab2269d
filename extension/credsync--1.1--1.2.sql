-- credsync 1.1 -> 1.2: sync_pull_page(), one pull page with its header.

\echo Use "ALTER EXTENSION credsync UPDATE TO '1.2'" to load this file. \quit

-- What an HTTP pull answers, in one call and one snapshot: the first row is
-- the header (item NULL, gencount = the zone's gencount, more = whether
-- records lie beyond the page), then sync_pull's records (more NULL), cut
-- once their blobs pass max_bytes (the first record always comes; NULL: no
-- cap). The proxy pulls through it: the same answer as its former statement
-- of window functions around sync_pull and sync_state, without planning and
-- starting that statement's executor nodes on every pull.
CREATE FUNCTION @extschema@.sync_pull_page(user_id text, zone text, since bigint DEFAULT 0,
        max_records int DEFAULT 1000, full_sync boolean DEFAULT false, max_bytes bigint DEFAULT NULL)
    RETURNS TABLE(item uuid, gencount bigint, deleted boolean, blob bytea, more boolean)
    AS 'MODULE_PATHNAME', 'credsync_sync_pull_page'
    LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

REVOKE ALL ON FUNCTION @extschema@.sync_pull_page(text, text, bigint, integer, boolean, bigint) FROM PUBLIC;

-- An app function: grant_app() grants it from now on. Roles granted before
-- this update get it when grant_app()/grant_proxy() is run again (see
-- docs/operations.md, "Upgrades"); granting it here would record the grant
-- as the extension's own, and pg_dump would then leave it out.
CREATE OR REPLACE FUNCTION @extschema@.app_functions()
    RETURNS regprocedure[]
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
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
        '@extschema@.notify_key(text,text)'
    ]::pg_catalog.regprocedure[] $$;
