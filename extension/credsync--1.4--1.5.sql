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

-- distribute() (issue 13) -------------------------------------------------------
--
-- As 1.4's, and:
--   sync_zone_states is distributed by its user like the other app functions;
--   sync_push, sync_push_many and sync_delete are distributed with
--     force_delegation. They write through the table access methods, so they
--     must run on the user's worker (a call the coordinator runs itself is
--     refused, 0A000). Citus delegates a call that is not alone in its
--     transaction (in BEGIN ... COMMIT, or in a PL/pgSQL function) only for
--     functions distributed so, and then as part of the coordinator's
--     distributed transaction: it commits or rolls back with it, and its row
--     locks are held until then. What force_delegation restricts does not
--     apply to these three: the delegated call may only touch the rows of
--     its user (it does) and may not write reference tables (it does not).
--     The other functions are left without it: on the coordinator their
--     statements are routed by Citus, which works in a transaction block
--     too, also for their writes of tokens (a reference table), which a
--     force-delegated call could not make (docs/scaling.md).
-- Running it on a database distributed by 1.4's distribute() sets the new
-- flags and distributes sync_zone_states (docs/scaling.md, "Upgrading").
CREATE OR REPLACE FUNCTION @extschema@.distribute()
    RETURNS TABLE(object text, distributed_as text)
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    by_user constant text[][] := ARRAY[
        -- table, its user column; zones first: the others are colocated with it
        ['zones', 'user_id'], ['records', 'user_id'], ['ops', 'user_id'], ['quotas', 'user_id'],
        ['accounts', 'name'], ['login_challenges', 'name'], ['login_failures', 'name'],
        ['deleted_users', 'user_id']];
    reference constant text[] := ARRAY['tokens', 'install_secret'];
    functions constant text[] := ARRAY[
        'sync_push(text,text,bytea,uuid,bigint,uuid)',
        'sync_push_many(text,text,uuid[],bytea[],bigint[],uuid)',
        'sync_delete(text,text,uuid,bigint,uuid)',
        'sync_pull(text,text,bigint,integer,boolean)',
        'sync_pull_page(text,text,bigint,integer,boolean,bigint)',
        'sync_state(text,text)', 'sync_zones(text)', 'sync_zone_states(text)', 'sync_account(text)',
        'notify_key(text,text)',
        'account_create(text,bytea,bytea,bigint,bigint,bytea,text)', 'login_challenge(text)',
        'login(text,bytea,bytea,text)', 'device_list(text)', 'device_revoke(text,uuid)',
        'account_set_login(text,bytea,bytea,bigint,bigint,bytea,boolean,uuid)',
        'zone_delete(text,text)', 'account_delete(text,bytea,bytea)',
        'set_quota(text,bigint,bigint)', 'drop_user(text)', 'issue_token(text,text)',
        'token_list(text)', 'token_revoke_all(text,text)', 'verify_zone(text,text)'];
    -- the calls that must run on the user's worker (tables.h)
    forced constant text[] := ARRAY[
        'sync_push(text,text,bytea,uuid,bigint,uuid)',
        'sync_push_many(text,text,uuid[],bytea[],bigint[],uuid)',
        'sync_delete(text,text,uuid,bigint,uuid)'];
    schema constant text := '@extschema@';
    t text;
    f text;
    i int;
    kind "char";
    mode text;
    messages text;
    force boolean;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'credsync.distribute() needs Citus: the citus extension is not created in this database'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'On the coordinator: CREATE EXTENSION citus; then citus_add_node() for each worker (docs/scaling.md).';
    END IF;
    IF (SELECT groupid FROM pg_dist_local_group) <> 0 THEN
        RAISE EXCEPTION 'credsync.distribute() runs on the Citus coordinator, and this node is a worker'
            USING ERRCODE = 'feature_not_supported';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_dist_node WHERE noderole = 'primary' AND shouldhaveshards AND groupid <> 0) THEN
        RAISE EXCEPTION 'credsync.distribute(): the Citus cluster has no worker'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Add the workers first: SELECT citus_add_node(host, port) (docs/scaling.md).';
    END IF;
    -- Creating reference tables and distributing tables in one transaction:
    -- one connection per node, so that each later step sees the earlier ones.
    -- Citus's notices about the copied rows: the function says what it did.
    messages := current_setting('client_min_messages');
    PERFORM set_config('client_min_messages', 'warning', true);
    mode := current_setting('citus.multi_shard_modify_mode');
    PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);

    FOR i IN 1 .. array_length(by_user, 1) LOOP
        t := by_user[i][1];
        CONTINUE WHEN to_regclass(format('%I.%I', schema, t)) IS NULL;
        SELECT partmethod INTO kind FROM pg_dist_partition WHERE logicalrelid = format('%I.%I', schema, t)::regclass;
        IF kind IS NULL THEN
            PERFORM create_distributed_table(format('%I.%I', schema, t), by_user[i][2],
                colocate_with => CASE WHEN t = 'zones' THEN 'default' ELSE format('%I.zones', schema) END);
            -- The rows were copied to the shards; the coordinator's copy is dead weight.
            PERFORM truncate_local_data_after_distributing_table(format('%I.%I', schema, t));
        ELSIF kind <> 'h' THEN
            RAISE EXCEPTION 'credsync.distribute(): %.% is already a Citus table of another kind', schema, t;
        END IF;
        object := t; distributed_as := 'by ' || by_user[i][2]; RETURN NEXT;
    END LOOP;

    FOREACH t IN ARRAY reference LOOP
        SELECT partmethod INTO kind FROM pg_dist_partition WHERE logicalrelid = format('%I.%I', schema, t)::regclass;
        IF kind IS NULL THEN
            PERFORM create_reference_table(format('%I.%I', schema, t));
            PERFORM truncate_local_data_after_distributing_table(format('%I.%I', schema, t));
        END IF;
        object := t; distributed_as := 'reference'; RETURN NEXT;
    END LOOP;

    FOREACH f IN ARRAY functions LOOP
        force := f = ANY (forced);
        PERFORM create_distributed_function(format('%I.%s', schema, f)::regprocedure, '$1',
                                            colocate_with => format('%I.zones', schema),
                                            force_delegation => force);
        object := f;
        distributed_as := 'delegated by $1' || CASE WHEN force THEN ', also in a transaction block' ELSE '' END;
        RETURN NEXT;
    END LOOP;
    PERFORM set_config('citus.multi_shard_modify_mode', mode, true);
    PERFORM set_config('client_min_messages', messages, true);
END $$;
REVOKE ALL ON FUNCTION @extschema@.distribute() FROM PUBLIC;
