-- credsync 1.1: per-(user, zone) gencounts allocated under the zone's row lock.
--
-- Tables are internal (no PUBLIC privileges); every function is SECURITY
-- DEFINER with a pinned search_path and is not executable by PUBLIC:
-- credsync.grant_app(role) opens the app functions to one role.
-- user_id leads every primary key and unique constraint, there are no
-- triggers and nothing is shared across users, so the schema can be
-- distributed by user_id (docs/scaling.md).

\echo Use "CREATE EXTENSION credsync" to load this file. \quit

-- User ids and zones are opaque identifiers: every table compares them
-- bytewise (COLLATE "C"), which also makes each key comparison a memcmp.

-- One row per (user, zone): the counter, and the aggregates maintained in
-- O(1) per record written. Its row lock serializes the zone's writers.
CREATE TABLE @extschema@.zones (
    user_id  text COLLATE "C" NOT NULL,
    zone     text COLLATE "C" NOT NULL,
    gencount bigint NOT NULL DEFAULT 0,
    digest   bytea  NOT NULL DEFAULT pg_catalog.decode(pg_catalog.repeat('00', 32), 'hex'),
    items    bigint NOT NULL DEFAULT 0,
    bytes    bigint NOT NULL DEFAULT 0,
    horizon  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, zone)
);

-- The newest version of each item; a tombstone has deleted = true, blob NULL.
-- replaced_* describe the version this write overwrote (NULL when the item
-- was new), as found under the zone's lock: PostgreSQL 15's RETURNING cannot
-- show the old row, and the write path needs it for if_match, the digest
-- and usage without a separate read per record.
CREATE TABLE @extschema@.records (
    user_id           text COLLATE "C" NOT NULL,
    zone              text COLLATE "C" NOT NULL,
    item              uuid        NOT NULL,
    gencount          bigint      NOT NULL,
    deleted           boolean     NOT NULL,
    blob              bytea,
    written_at        timestamptz NOT NULL,
    replaced_gencount bigint,
    replaced_deleted  boolean,
    replaced_bytes    integer,
    PRIMARY KEY (user_id, zone, item),
    CHECK (deleted = (blob IS NULL))
);
-- Pulls are a range scan on this index; it also makes a reused gencount
-- impossible to commit.
CREATE UNIQUE INDEX records_by_gencount ON @extschema@.records (user_id, zone, gencount);
-- compact() finds old tombstones without scanning live records.
CREATE INDEX records_tombstones_by_age ON @extschema@.records (written_at) WHERE deleted;

-- Bearer tokens: only the SHA-256 of the token is stored.
CREATE TABLE @extschema@.tokens (
    user_id      text COLLATE "C" NOT NULL,
    token_sha256 bytea       NOT NULL,
    label        text,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    revoked_at   timestamptz,
    PRIMARY KEY (user_id, token_sha256)
);
CREATE INDEX tokens_by_hash ON @extschema@.tokens (token_sha256);

-- Remembered op ids: the request's fingerprint and the original result.
CREATE TABLE @extschema@.ops (
    user_id        text COLLATE "C" NOT NULL,
    zone           text COLLATE "C" NOT NULL,
    op_id          uuid        NOT NULL,
    request_sha256 bytea       NOT NULL,
    items          uuid[]      NOT NULL,
    gencounts      bigint[]    NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (user_id, zone, op_id)
);
CREATE INDEX ops_by_age ON @extschema@.ops (created_at);

-- Per-user limits; NULL means the credsync.default_* setting.
CREATE TABLE @extschema@.quotas (
    user_id   text COLLATE "C" PRIMARY KEY,
    max_bytes bigint CHECK (max_bytes >= 0),
    max_items bigint CHECK (max_items >= 0)
);

-- The per-installation key for NOTIFY payloads. It is not user data and is
-- deliberately not dumped: a restored database gets a fresh key, and
-- listeners ask notify_key() again.
CREATE TABLE @extschema@.install_secret (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    secret    bytea   NOT NULL CHECK (pg_catalog.octet_length(secret) = 32)
);
INSERT INTO @extschema@.install_secret (secret)
VALUES (pg_catalog.decode(pg_catalog.replace(
    pg_catalog.gen_random_uuid()::text || pg_catalog.gen_random_uuid()::text, '-', ''), 'hex'));

REVOKE ALL ON ALL TABLES IN SCHEMA @extschema@ FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.zones', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.records', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.tokens', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ops', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.quotas', '');

-- App functions ------------------------------------------------------------

CREATE FUNCTION @extschema@.sync_push(user_id text, zone text, blob bytea,
        item_id uuid DEFAULT NULL, if_match bigint DEFAULT NULL, op_id uuid DEFAULT NULL)
    RETURNS TABLE(item uuid, gencount bigint)
    AS 'MODULE_PATHNAME', 'credsync_sync_push'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION @extschema@.sync_push_many(user_id text, zone text, item_ids uuid[], blobs bytea[],
        if_match bigint[] DEFAULT NULL, op_id uuid DEFAULT NULL)
    RETURNS TABLE(item uuid, gencount bigint)
    AS 'MODULE_PATHNAME', 'credsync_sync_push_many'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION @extschema@.sync_delete(user_id text, zone text, item_id uuid,
        if_match bigint DEFAULT NULL, op_id uuid DEFAULT NULL)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'credsync_sync_delete'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION @extschema@.sync_pull(user_id text, zone text, since bigint DEFAULT 0,
        max_records int DEFAULT 1000, full_sync boolean DEFAULT false)
    RETURNS TABLE(item uuid, gencount bigint, deleted boolean, blob bytea)
    AS 'MODULE_PATHNAME', 'credsync_sync_pull'
    LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION @extschema@.sync_state(user_id text, zone text)
    RETURNS TABLE(gencount bigint, digest bytea, items bigint, bytes bigint, horizon bigint)
    AS 'MODULE_PATHNAME', 'credsync_sync_state'
    LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION @extschema@.sync_zones(user_id text)
    RETURNS TABLE(zone text, gencount bigint, items bigint, bytes bigint)
    AS 'MODULE_PATHNAME', 'credsync_sync_zones'
    LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION @extschema@.sync_account(user_id text)
    RETURNS TABLE(bytes bigint, items bigint, max_bytes bigint, max_items bigint)
    AS 'MODULE_PATHNAME', 'credsync_sync_account'
    LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION @extschema@.token_user(token text)
    RETURNS text
    AS 'MODULE_PATHNAME', 'credsync_token_user'
    LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION @extschema@.notify_key(user_id text, zone text)
    RETURNS text
    AS 'MODULE_PATHNAME', 'credsync_notify_key'
    LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- Admin functions ----------------------------------------------------------

CREATE FUNCTION @extschema@.issue_token(user_id text, label text DEFAULT NULL)
    RETURNS text
    AS 'MODULE_PATHNAME', 'credsync_issue_token'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION @extschema@.revoke_token(token text)
    RETURNS boolean
    AS 'MODULE_PATHNAME', 'credsync_revoke_token'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION @extschema@.set_quota(user_id text, max_bytes bigint, max_items bigint)
    RETURNS void
    AS 'MODULE_PATHNAME', 'credsync_set_quota'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION @extschema@.compact(keep interval DEFAULT '30 days')
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'credsync_compact'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION @extschema@.drop_user(user_id text)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'credsync_drop_user'
    LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- The functions an application role may call (grant_app).
CREATE FUNCTION @extschema@.app_functions()
    RETURNS regprocedure[]
    LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
    AS $$ SELECT ARRAY[
        '@extschema@.sync_push(text,text,bytea,uuid,bigint,uuid)',
        '@extschema@.sync_push_many(text,text,uuid[],bytea[],bigint[],uuid)',
        '@extschema@.sync_delete(text,text,uuid,bigint,uuid)',
        '@extschema@.sync_pull(text,text,bigint,integer,boolean)',
        '@extschema@.sync_state(text,text)',
        '@extschema@.sync_zones(text)',
        '@extschema@.sync_account(text)',
        '@extschema@.token_user(text)',
        '@extschema@.notify_key(text,text)'
    ]::pg_catalog.regprocedure[] $$;

CREATE FUNCTION @extschema@.grant_app(role name)
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    fn pg_catalog.regprocedure;
BEGIN
    IF role IS NULL OR role OPERATOR(pg_catalog.=) 'public' THEN
        RAISE EXCEPTION 'grant_app needs a named role, not PUBLIC'
            USING ERRCODE = 'CS400', DETAIL = 'role';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) role) THEN
        RAISE EXCEPTION 'role "%" does not exist', role
            USING ERRCODE = 'undefined_object', DETAIL = 'role';
    END IF;
    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA @extschema@ TO %I', role);
    FOREACH fn IN ARRAY @extschema@.app_functions() LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %I', fn, role);
    END LOOP;
END $$;

CREATE FUNCTION @extschema@.grant_proxy(role name)
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    PERFORM @extschema@.grant_app(role);
    EXECUTE pg_catalog.format(
        'GRANT EXECUTE ON FUNCTION @extschema@.issue_token(text, text) TO %I', role);
END $$;

-- Recomputes a zone's digest, live items and bytes from its records (and
-- the highest gencount stored) and says whether the incrementally
-- maintained values in credsync.zones match.
CREATE FUNCTION @extschema@.verify_zone(user_id text, zone text)
    RETURNS TABLE(max_gencount bigint, digest bytea, items bigint, bytes bigint, matches boolean)
    AS 'MODULE_PATHNAME', 'credsync_verify_zone'
    LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA @extschema@ FROM PUBLIC;
