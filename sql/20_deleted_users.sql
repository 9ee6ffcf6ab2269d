-- Deleted users (1.4): drop_user and account_delete mark the user id, and
-- for an hour a push that would create a zone of it is refused (CS401), so
-- that a device whose token was checked just before the deletion cannot
-- leave a whole zone behind. issue_token and account_create start the id
-- again; compaction removes marks older than an hour. The races themselves:
-- isolation specs deleted-user-push, drop-user-race, account-delete-race.
\pset null '(null)'
CREATE FUNCTION regress_util.user_rows2(who text)
    RETURNS TABLE(zones bigint, records bigint, ops bigint, tokens bigint, marked bigint) LANGUAGE plpgsql
    -- (PL/pgSQL: Citus cannot plan a SQL function's parameters.)
    AS $$ #variable_conflict use_column
    BEGIN RETURN QUERY
          SELECT (SELECT count(*) FROM credsync.zones WHERE user_id = who),
                 (SELECT count(*) FROM credsync.records WHERE user_id = who),
                 (SELECT count(*) FROM credsync.ops WHERE user_id = who),
                 (SELECT count(*) FROM credsync.tokens WHERE user_id = who),
                 (SELECT count(*) FROM credsync.deleted_users WHERE user_id = who); END $$;

-- tom: tokens only, two zones. drop_user removes everything and marks tom.
SELECT credsync.issue_token('gone-tom') AS t1 \gset
SELECT gencount FROM credsync.sync_push('gone-tom', 'a', '\x01', '00000000-0000-4000-8000-0000000000a1');
SELECT gencount FROM credsync.sync_push('gone-tom', 'b', '\x02');
SELECT credsync.drop_user('gone-tom') AS removed;
SELECT (regress_util.user_rows2('gone-tom')).*;
SELECT deleted_at BETWEEN now() - interval '1 minute' AND now() AS deleted_now FROM credsync.deleted_users WHERE user_id = 'gone-tom';

-- Every kind of push that would create a zone is refused, with or without
-- an op id, into a zone tom had or a new one; nothing is written.
SELECT regress_util.try($$SELECT * FROM credsync.sync_push('gone-tom', 'a', '\x03')$$) AS push_old_zone,
       regress_util.try($$SELECT * FROM credsync.sync_push('gone-tom', 'new', '\x03', NULL, NULL,
                          '00000000-0000-4000-8000-00000000f001')$$) AS push_new_zone_op_id,
       regress_util.try($$SELECT * FROM credsync.sync_push_many('gone-tom', 'a', NULL, ARRAY['\x04']::bytea[])$$) AS push_many,
       regress_util.try($$SELECT * FROM credsync.sync_delete('gone-tom', 'a', '00000000-0000-4000-8000-0000000000a1')$$) AS delete;
SELECT (regress_util.user_rows2('gone-tom')).*;
-- The message, DETAIL and hint a SQL caller sees. (Without CONTEXT: on
-- Citus it names the worker that ran the call.)
\set SHOW_CONTEXT never
SELECT * FROM credsync.sync_push('gone-tom', 'a', '\x03');
\set SHOW_CONTEXT errors
-- Validation comes first: a bad argument is still CS400, an empty push
-- creates nothing and is not refused.
SELECT regress_util.try($$SELECT * FROM credsync.sync_push('gone-tom', 'bad zone', '\x03')$$) AS bad_zone,
       regress_util.try($$SELECT * FROM credsync.sync_push_many('gone-tom', 'a', NULL, ARRAY[]::bytea[])$$) AS empty_push;
-- Reads answer as for any unknown user; zone_delete creates no row.
SELECT * FROM credsync.sync_state('gone-tom', 'a');
SELECT count(*) AS pulled FROM credsync.sync_pull('gone-tom', 'a', 0);
SELECT * FROM credsync.sync_zones('gone-tom');
SELECT credsync.zone_delete('gone-tom', 'a') AS zone_removed;
SELECT credsync.token_user(:'t1') AS old_token;
-- Other users are not touched.
SELECT gencount FROM credsync.sync_push('gone-other', 'a', '\x05');

-- A new token starts the id again: the mark goes, and the first push
-- starts zone a at 1 (the old op id is not replayed).
SELECT credsync.issue_token('gone-tom') IS NOT NULL AS token_issued;
SELECT (regress_util.user_rows2('gone-tom')).*;
SELECT gencount FROM credsync.sync_push('gone-tom', 'a', '\x06', '00000000-0000-4000-8000-0000000000a1');

-- account_delete of a user with tokens only marks it the same way;
-- account_create of the name lifts the mark (a signup of the name works at
-- once), and its pushes create zones.
SELECT result, removed FROM credsync.account_delete('gone-tom', NULL, NULL);
SELECT (regress_util.user_rows2('gone-tom')).*;
-- A token that is rolled back lifts nothing.
BEGIN;
SELECT credsync.issue_token('gone-tom') IS NOT NULL AS token_issued;
ROLLBACK;
SELECT regress_util.try($$SELECT * FROM credsync.sync_push('gone-tom', 'a', '\x07')$$) AS push_after_account_delete;
SELECT user_id FROM credsync.account_create('gone-tom', '\xc9571eeb4aa9de1159858bc6a3d4a626c4f4845e8eebd5f554b2ec0f50c68860',
    '\x00000000000000000000000000000003', 3, 268435456, '\xcc');
SELECT (regress_util.user_rows2('gone-tom')).*;
SELECT gencount FROM credsync.sync_push('gone-tom', 'a', '\x08');
-- In one transaction: delete the user, then give the id a new token; the
-- transaction's pushes may then create zones again.
BEGIN;
SELECT credsync.drop_user('gone-tom') > 0 AS dropped;
SELECT regress_util.try($$SELECT * FROM credsync.sync_push('gone-tom', 'a', '\x09')$$) AS push_in_deleting_transaction;
SELECT credsync.issue_token('gone-tom') IS NOT NULL AS token_issued;
SELECT gencount FROM credsync.sync_push('gone-tom', 'a', '\x0a');
-- (On Citus this COMMIT fails and nothing of the transaction stays: it
-- wrote tokens, a table on every node, so it commits in two phases, and a
-- push NOTIFYs, which PostgreSQL cannot prepare. The counts below are then
-- the same by chance: test/citus-regress/README.md.)
\set SHOW_CONTEXT never
COMMIT;
\set SHOW_CONTEXT errors
SELECT (regress_util.user_rows2('gone-tom')).*;

-- A deletion that found nothing still marks the id (a push may have been
-- about to create its first zone).
SELECT credsync.drop_user('gone-nobody') AS removed;
SELECT (regress_util.user_rows2('gone-nobody')).*;
SELECT regress_util.try($$SELECT * FROM credsync.sync_push('gone-nobody', 'a', '\x0b')$$) AS push_nobody;

-- The window: a mark older than an hour refuses nothing (the id is then
-- like any unknown one, as before 1.4), and compaction removes it; younger
-- marks stay. compact's result counts tombstones and op ids only.
UPDATE credsync.deleted_users SET deleted_at = now() - interval '1 hour 1 second' WHERE user_id = 'gone-nobody';
SELECT gencount FROM credsync.sync_push('gone-nobody', 'a', '\x0c');
SELECT credsync.drop_user('gone-fresh') AS removed;
UPDATE credsync.deleted_users SET deleted_at = now() - interval '59 minutes' WHERE user_id = 'gone-fresh';
-- (Keep 100 years, not 1000: Citus 13.2 passes a cutoff before 1883 to its
-- workers in a form they cannot read back under pg_regress's DateStyle.)
SELECT credsync.compact('100 years') AS compacted;
SELECT user_id FROM credsync.deleted_users WHERE user_id LIKE 'gone-%' ORDER BY 1;
SELECT regress_util.try($$SELECT * FROM credsync.sync_push('gone-fresh', 'a', '\x0d')$$) AS push_fresh;
-- compact_batched removes them in batches too.
INSERT INTO credsync.deleted_users (user_id, deleted_at)
    SELECT 'gone-old-' || i, now() - interval '2 hours' FROM generate_series(1, 5) i;
CALL credsync.compact_batched('100 years', 2);
SELECT user_id FROM credsync.deleted_users WHERE user_id LIKE 'gone-%' ORDER BY 1;

-- The 1.3 entry point of drop_user (a database not yet updated to 1.4 runs
-- it) leaves no mark: such a database has no deleted_users table.
CREATE FUNCTION regress_util.drop_user_1_3(text) RETURNS bigint
    AS '$libdir/credsync', 'credsync_drop_user' LANGUAGE C STRICT;
SELECT regress_util.drop_user_1_3('gone-other') AS removed;
SELECT (regress_util.user_rows2('gone-other')).*;
DROP FUNCTION regress_util.drop_user_1_3(text);

-- The table: PUBLIC has nothing, and it is dumped (09_security: user_id
-- leads its key).
SELECT has_table_privilege('public', 'credsync.deleted_users', 'SELECT') AS public_select,
       'credsync.deleted_users'::regclass = ANY (extconfig) AS dumped
  FROM pg_extension WHERE extname = 'credsync';

SELECT credsync.drop_user('gone-tom') > 0 AS dropped, credsync.drop_user('gone-nobody') > 0 AS dropped_nobody;
DELETE FROM credsync.deleted_users WHERE user_id LIKE 'gone-%';
