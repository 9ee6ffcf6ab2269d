-- Issue 10 item 11 and item 6's leftovers: catalog and defensive fixes.
\pset null '(null)'

-- app_functions() looks its regprocedure values up in the catalog: STABLE,
-- not IMMUTABLE (an IMMUTABLE call can be folded into a cached plan).
SELECT provolatile FROM pg_proc WHERE oid = 'credsync.app_functions()'::regprocedure;

-- A NULL where a NOT NULL column was expected is an ERROR, never a read
-- through a NULL pointer (a detoast before the null check crashed the
-- server). The columns are made nullable only inside these transactions.
SELECT gencount FROM credsync.sync_push('hardened', 'z', '\x01', '00000000-0000-4000-8000-0000000000d1',
    NULL, '00000000-0000-4000-8000-0000000000d9');
BEGIN;
ALTER TABLE credsync.zones ALTER COLUMN digest DROP NOT NULL;
UPDATE credsync.zones SET digest = NULL WHERE user_id = 'hardened';
SELECT regress_util.try($$SELECT * FROM credsync.sync_push('hardened', 'z', '\x02')$$) AS push;
SELECT matches FROM credsync.verify_zone('hardened', 'z');
ROLLBACK;
BEGIN;
ALTER TABLE credsync.ops ALTER COLUMN request_sha256 DROP NOT NULL;
UPDATE credsync.ops SET request_sha256 = NULL WHERE user_id = 'hardened';
SELECT regress_util.try($$SELECT * FROM credsync.sync_push('hardened', 'z', '\x01',
    '00000000-0000-4000-8000-0000000000d1', NULL, '00000000-0000-4000-8000-0000000000d9')$$) AS replay;
ROLLBACK;
-- Still whole afterwards.
SELECT gencount FROM credsync.sync_push('hardened', 'z', '\x01', '00000000-0000-4000-8000-0000000000d1',
    NULL, '00000000-0000-4000-8000-0000000000d9');
SELECT matches, items, bytes FROM credsync.verify_zone('hardened', 'z');

-- drop_user also removes what the pre-1.3 race left behind: records and op
-- ids whose zone row is gone.
SELECT gencount FROM credsync.sync_push('orphaned', 'kept', '\x01', '00000000-0000-4000-8000-0000000000e1');
INSERT INTO credsync.records (user_id, zone, item, gencount, deleted, blob, written_at)
VALUES ('orphaned', 'gone', '00000000-0000-4000-8000-0000000000e2', 7, false, '\x02', now());
INSERT INTO credsync.ops (user_id, zone, op_id, request_sha256, items, gencounts)
VALUES ('orphaned', 'gone', '00000000-0000-4000-8000-0000000000e9', sha256('x'),
        ARRAY['00000000-0000-4000-8000-0000000000e2']::uuid[], ARRAY[7]::bigint[]);
SELECT credsync.drop_user('orphaned') AS removed;
SELECT (SELECT count(*) FROM credsync.records WHERE user_id = 'orphaned')
     + (SELECT count(*) FROM credsync.ops WHERE user_id = 'orphaned')
     + (SELECT count(*) FROM credsync.zones WHERE user_id = 'orphaned') AS leftovers;
-- The id starts clean: the orphan's gencount 7 no longer blocks the zone
-- (once a new token starts the id again: 1.4's drop_user marks it deleted).
SELECT credsync.issue_token('orphaned') IS NOT NULL AS token_issued;
-- (The arrays are read first: Citus delegates a push whose arguments are
-- values, not subqueries.)
SELECT ARRAY(SELECT ('00000000-0000-4000-8000-0000000001' || lpad(i::text, 2, '0'))::uuid FROM generate_series(1, 8) i) AS items,
       ARRAY(SELECT '\x05'::bytea FROM generate_series(1, 8)) AS blobs \gset orphan_
SELECT gencount FROM credsync.sync_push_many('orphaned', 'gone', :'orphan_items', :'orphan_blobs')
 ORDER BY gencount DESC LIMIT 1;
SELECT credsync.drop_user('orphaned') AS removed;

-- The installation secret of a new database: 32 bytes from the CSPRNG, not
-- two random UUIDs (which fix 12 of the 256 bits: the version nibble 4 at
-- bytes 6 and 22, the variant bits 10 at bytes 8 and 24). Eight fresh
-- installs, each rolled back; a random secret looks like two UUIDs with
-- probability 1/4096, so all eight do with probability 2^-96.
CREATE FUNCTION regress_util.fresh_install_secret() RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
    secret bytea;
BEGIN
    BEGIN
        DROP EXTENSION credsync CASCADE;
        CREATE EXTENSION credsync;
        SELECT s.secret INTO secret FROM credsync.install_secret s;
        RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = encode(secret, 'hex');  -- undo both
    EXCEPTION WHEN raise_exception THEN
        RETURN decode(SQLERRM, 'hex');
    END;
END $$;
SELECT count(*) AS installs,
       count(DISTINCT s) AS distinct_secrets,
       bool_and(octet_length(s) = 32) AS all_32_bytes,
       bool_and(get_byte(s, 6) >> 4 = 4 AND get_byte(s, 8) >> 6 = 2
                AND get_byte(s, 22) >> 4 = 4 AND get_byte(s, 24) >> 6 = 2) AS all_uuid_shaped
  FROM (SELECT regress_util.fresh_install_secret() AS s FROM generate_series(1, 8)) t;
-- This database kept its own (and its extension).
SELECT count(*) AS secrets FROM credsync.install_secret;
SELECT extversion FROM pg_extension WHERE extname = 'credsync';
DROP FUNCTION regress_util.fresh_install_secret();
