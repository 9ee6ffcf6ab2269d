-- credsync 1.3 -> 1.4: accounts a person logs into with a password the
-- server never sees (Ed25519 challenge-response), devices, deleting a zone
-- and one's own account (issues 11 and 16). docs/sql-api.md, "Additions in
-- 1.4", says what each function does and why.

\echo Use "ALTER EXTENSION credsync UPDATE TO '1.4'" to load this file. \quit

-- Tables ---------------------------------------------------------------------

-- An account: a user id chosen by a person (name = user_id everywhere else),
-- with what the client derived from the password: the Ed25519 public key
-- that signs logins, the salt and Argon2id cost it derived them with, and
-- the account's master key wrapped under the password. The server learns
-- nothing from any of them.
CREATE TABLE @extschema@.accounts (
    name        text COLLATE "C" PRIMARY KEY,
    salt        bytea  NOT NULL CHECK (pg_catalog.octet_length(salt) = 16),
    kdf_ops     bigint NOT NULL CHECK (kdf_ops BETWEEN 1 AND 20),
    kdf_mem     bigint NOT NULL CHECK (kdf_mem BETWEEN 8388608 AND 4294967296),
    login_key   bytea  NOT NULL CHECK (pg_catalog.octet_length(login_key) = 32),
    wrapped_key bytea  NOT NULL CHECK (pg_catalog.octet_length(wrapped_key) BETWEEN 1 AND 4096),
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);

-- Every token is a device: its id, label (tokens.label), created_at and
-- when it was last used (token_identity, at most once a minute). The id is
-- unique per user: user_id leads every unique constraint, so the schema can
-- still be distributed by user_id (docs/scaling.md); ids are random UUIDs.
-- The volatile default rewrites the table once, giving each existing token
-- its own id.
ALTER TABLE @extschema@.tokens
    ADD COLUMN device uuid NOT NULL DEFAULT pg_catalog.gen_random_uuid(),
    ADD COLUMN last_seen timestamptz;
CREATE UNIQUE INDEX tokens_by_device ON @extschema@.tokens (user_id, device);

-- zone_delete(): the gencount the deletion took (0: never deleted). A cursor
-- below it is expired, full sync or not, and the zone is hidden from
-- sync_zones while it is still its gencount (no push since).
ALTER TABLE @extschema@.zones ADD COLUMN deleted_gencount bigint NOT NULL DEFAULT 0;

-- Login challenges: single use (deleted when used), valid 60 s. Keyed by
-- (name, challenge): user_id leads (see tokens), and a login looks both up.
CREATE TABLE @extschema@.login_challenges (
    name       text COLLATE "C" NOT NULL,
    challenge  bytea       NOT NULL CHECK (pg_catalog.octet_length(challenge) = 32),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (name, challenge)
);
CREATE INDEX login_challenges_by_expiry ON @extschema@.login_challenges (expires_at);

-- Failed logins per name (known or not) in the current 10-minute window.
-- In the database, so the limit survives a proxy restart and holds across
-- proxies; a login locks its name's row, so concurrent attempts count.
CREATE TABLE @extschema@.login_failures (
    name         text COLLATE "C" PRIMARY KEY,
    failures     integer     NOT NULL DEFAULT 0 CHECK (failures >= 0),
    window_start timestamptz NOT NULL
);
CREATE INDEX login_failures_by_window ON @extschema@.login_failures (window_start);

-- Users removed by drop_user or account_delete, and when. For an hour after
-- a deletion, a push that would create a zone of the user is refused
-- (CS401): a device whose token was checked just before the deletion must
-- not leave a whole zone behind under a user id with no account and no
-- token. issue_token and account_create of the id remove its mark;
-- compaction removes marks older than an hour.
CREATE TABLE @extschema@.deleted_users (
    user_id    text COLLATE "C" PRIMARY KEY,
    deleted_at timestamptz NOT NULL
);
CREATE INDEX deleted_users_by_time ON @extschema@.deleted_users (deleted_at);

REVOKE ALL ON @extschema@.accounts, @extschema@.login_challenges, @extschema@.login_failures,
    @extschema@.deleted_users FROM PUBLIC;

-- Accounts are dumped (tokens, with their new columns, already are).
-- Challenges live 60 s and failure counters 10 minutes: not dumped.
-- Deletion marks are dumped: a restore within the hour still refuses a late
-- push of a deleted user.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.accounts', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.deleted_users', '');

-- App functions ----------------------------------------------------------------

CREATE FUNCTION @extschema@.account_create(name text, login_key bytea, salt bytea, kdf_ops bigint,
        kdf_mem bigint, wrapped_key bytea, device_label text DEFAULT NULL)
    RETURNS TABLE(user_id text, device uuid, token text)
    AS 'MODULE_PATHNAME', 'credsync_account_create'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION @extschema@.login_challenge(name text)
    RETURNS TABLE(challenge bytea, salt bytea, kdf_ops bigint, kdf_mem bigint, expires_in integer)
    AS 'MODULE_PATHNAME', 'credsync_login_challenge'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- result: 'ok', 'failed' or 'too_many_attempts' (retry_after seconds). A
-- failure is a row, not an ERROR, so that its bookkeeping (the failure
-- count, the used challenge) commits.
CREATE FUNCTION @extschema@.login(name text, challenge bytea, signature bytea, device_label text DEFAULT NULL)
    RETURNS TABLE(result text, user_id text, device uuid, token text, wrapped_key bytea, retry_after integer)
    AS 'MODULE_PATHNAME', 'credsync_login'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- VOLATILE: it records last_seen (at most once a minute per device).
CREATE FUNCTION @extschema@.token_identity(token_sha256 bytea)
    RETURNS TABLE(user_id text, device uuid)
    AS 'MODULE_PATHNAME', 'credsync_token_identity'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION @extschema@.device_list(user_id text)
    RETURNS TABLE(id uuid, label text, created timestamptz, last_seen timestamptz)
    AS 'MODULE_PATHNAME', 'credsync_device_list'
    LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION @extschema@.device_revoke(user_id text, device uuid)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'credsync_device_revoke'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION @extschema@.account_set_login(user_id text, login_key bytea, salt bytea, kdf_ops bigint,
        kdf_mem bigint, wrapped_key bytea, logout_others boolean, keep_device uuid)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'credsync_account_set_login'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION @extschema@.zone_delete(user_id text, zone text)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'credsync_zone_delete'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- result as login's: the proof's failure must commit its bookkeeping too.
CREATE FUNCTION @extschema@.account_delete(user_id text, challenge bytea, signature bytea)
    RETURNS TABLE(result text, removed bigint, retry_after integer)
    AS 'MODULE_PATHNAME', 'credsync_account_delete'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- Admin functions ----------------------------------------------------------------

CREATE FUNCTION @extschema@.token_list(user_id text)
    RETURNS TABLE(device uuid, label text, created timestamptz, last_seen timestamptz, revoked timestamptz)
    AS 'MODULE_PATHNAME', 'credsync_token_list'
    LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION @extschema@.token_revoke_all(user_id text, label text DEFAULT NULL)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'credsync_token_revoke_all'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

REVOKE ALL ON FUNCTION
    @extschema@.account_create(text, bytea, bytea, bigint, bigint, bytea, text),
    @extschema@.login_challenge(text),
    @extschema@.login(text, bytea, bytea, text),
    @extschema@.token_identity(bytea),
    @extschema@.device_list(text),
    @extschema@.device_revoke(text, uuid),
    @extschema@.account_set_login(text, bytea, bytea, bigint, bigint, bytea, boolean, uuid),
    @extschema@.zone_delete(text, text),
    @extschema@.account_delete(text, bytea, bytea),
    @extschema@.token_list(text),
    @extschema@.token_revoke_all(text, text)
FROM PUBLIC;

-- Functions whose 1.4 behaviour reads the new columns and tables: the same
-- signatures, privileges and SQL text, another entry point of the library.
-- The library serves every released SQL version at once (a database runs the
-- new library under its old objects until it is updated), so the entry
-- points of 1.3 and earlier stay as they were; these are what 1.4 adds:
--   sync_zones: a deleted zone is not listed until its next push;
--   sync_pull, sync_pull_page: a cursor from before a zone's deletion is
--     expired, full sync included;
--   drop_user: also the user's account, login challenges and failure count,
--     and it marks the user deleted (deleted_users).
CREATE OR REPLACE FUNCTION @extschema@.sync_zones(user_id text)
    RETURNS TABLE(zone text, gencount bigint, items bigint, bytes bigint)
    AS 'MODULE_PATHNAME', 'credsync_sync_zones_1_4'
    LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION @extschema@.sync_pull(user_id text, zone text, since bigint DEFAULT 0,
        max_records int DEFAULT 1000, full_sync boolean DEFAULT false)
    RETURNS TABLE(item uuid, gencount bigint, deleted boolean, blob bytea)
    AS 'MODULE_PATHNAME', 'credsync_sync_pull_1_4'
    LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION @extschema@.sync_pull_page(user_id text, zone text, since bigint DEFAULT 0,
        max_records int DEFAULT 1000, full_sync boolean DEFAULT false, max_bytes bigint DEFAULT NULL)
    RETURNS TABLE(item uuid, gencount bigint, deleted boolean, blob bytea, more boolean)
    AS 'MODULE_PATHNAME', 'credsync_sync_pull_page_1_4'
    LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION @extschema@.drop_user(user_id text)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'credsync_drop_user_1_4'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- App functions: grant_app() grants them from now on. Roles granted before
-- this update get them when grant_app()/grant_proxy() is run again (see
-- docs/operations.md, "Upgrades").
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

-- Citus (issue 13) -----------------------------------------------------------------
--
-- distribute(): makes this database's credsync a Citus one, distributed by
-- user (docs/scaling.md). Run on the coordinator after CREATE EXTENSION citus
-- and citus_add_node() of the workers; the data already here is moved to the
-- workers' shards. Every table keyed by user is hash-distributed on its user
-- column, colocated with zones, so a user's rows are on one worker; tokens
-- (found by hash, not by user) and install_secret are reference tables, a
-- copy on every node; every function whose first argument is the user is
-- distributed on it, so that Citus delegates a call to the user's worker.
-- Running it again changes nothing. Admin only (it is not granted).
CREATE FUNCTION @extschema@.distribute()
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
        'sync_state(text,text)', 'sync_zones(text)', 'sync_account(text)', 'notify_key(text,text)',
        'account_create(text,bytea,bytea,bigint,bigint,bytea,text)', 'login_challenge(text)',
        'login(text,bytea,bytea,text)', 'device_list(text)', 'device_revoke(text,uuid)',
        'account_set_login(text,bytea,bytea,bigint,bigint,bytea,boolean,uuid)',
        'zone_delete(text,text)', 'account_delete(text,bytea,bytea)',
        'set_quota(text,bigint,bigint)', 'drop_user(text)', 'issue_token(text,text)',
        'token_list(text)', 'token_revoke_all(text,text)', 'verify_zone(text,text)'];
    schema constant text := '@extschema@';
    t text;
    f text;
    i int;
    kind "char";
    mode text;
    messages text;
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
        PERFORM create_distributed_function(format('%I.%s', schema, f)::regprocedure, '$1',
                                            colocate_with => format('%I.zones', schema));
        object := f; distributed_as := 'delegated by $1'; RETURN NEXT;
    END LOOP;
    PERFORM set_config('citus.multi_shard_modify_mode', mode, true);
    PERFORM set_config('client_min_messages', messages, true);
END $$;
REVOKE ALL ON FUNCTION @extschema@.distribute() FROM PUBLIC;
