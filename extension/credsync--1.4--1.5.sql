-- credsync 1.4 -> 1.5. docs/sql-api.md, "Additions in 1.5", says what each
-- change does and why.

\echo Use "ALTER EXTENSION credsync UPDATE TO '1.5'" to load this file. \quit

-- sync_zone_states (issue 12) -------------------------------------------------
--
-- Every zone of the user that sync_zones lists, each with what sync_state
-- gives for one zone (gencount, digest, items, bytes, horizon), read in one
-- statement and so in one snapshot: GET /v1/zones carries each zone's digest,
-- and a client with nothing new syncs in one request.
CREATE FUNCTION @extschema@.sync_zone_states(user_id text)
    RETURNS TABLE(zone text, gencount bigint, digest bytea, items bigint, bytes bigint, horizon bigint)
    AS 'MODULE_PATHNAME', 'credsync_sync_zone_states_1_5'
    LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

REVOKE ALL ON FUNCTION @extschema@.sync_zone_states(text) FROM PUBLIC;

-- App functions: 1.4's list and sync_zone_states. grant_app() grants them from
-- now on; roles granted before this update get the new one when
-- grant_app()/grant_proxy() is run again (docs/operations.md, "Upgrades").
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
        '@extschema@.sync_zone_states(text)',
        '@extschema@.sync_account(text)',
        '@extschema@.token_user(text)',
        '@extschema@.token_user_hash(bytea)',
        '@extschema@.notify_key(text,text)',
        '@extschema@.account_create(text,bytea,bytea,bigint,bigint,bytea,text)',
        '@extschema@.login_challenge(text)',
        '@extschema@.login(text,bytea,bytea,text)',
        '@extschema@.token_identity(bytea)',
        '@extschema@.device_list(text)',
        '@extschema@.device_revoke(text,uuid)',
        '@extschema@.account_set_login(text,bytea,bytea,bigint,bigint,bytea,boolean,uuid)',
        '@extschema@.zone_delete(text,text)',
        '@extschema@.account_delete(text,bytea,bytea)'
    ]::pg_catalog.regprocedure[] $$;
