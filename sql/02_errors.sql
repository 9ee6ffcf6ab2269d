-- Bad input gets a clear error naming the argument, and changes nothing.
\set VERBOSITY terse
SELECT gencount AS before FROM credsync.sync_state('alice', 'default');

-- CS400 with the argument's name as DETAIL.
SELECT regress_util.try($$SELECT credsync.sync_push(NULL, 'default', '\x01')$$);
SELECT regress_util.try($$SELECT credsync.sync_push('', 'default', '\x01')$$);
SELECT regress_util.try($$SELECT credsync.sync_push(repeat('u', 257), 'default', '\x01')$$);
SELECT regress_util.try($$SELECT credsync.sync_push(repeat('u', 256), 'default', '\x01')$$);
SELECT regress_util.try($$SELECT credsync.sync_push(E'ali\nce', 'default', '\x01')$$);
SELECT regress_util.try($$SELECT credsync.sync_push(E'ali\x7fce', 'default', '\x01')$$);
SELECT regress_util.try($$SELECT credsync.sync_push(E'ali\u0085ce', 'default', '\x01')$$);
SELECT regress_util.try($$SELECT credsync.sync_push('alice', NULL, '\x01')$$);
SELECT regress_util.try($$SELECT credsync.sync_push('alice', '', '\x01')$$);
SELECT regress_util.try($$SELECT credsync.sync_push('alice', 'has space', '\x01')$$);
SELECT regress_util.try($$SELECT credsync.sync_push('alice', 'a/b', '\x01')$$);
SELECT regress_util.try($$SELECT credsync.sync_push('alice', repeat('z', 65), '\x01')$$);
SELECT regress_util.try($$SELECT credsync.sync_push('alice', repeat('z', 64), '\x01')$$);
-- A NULL item id with a NULL blob.
SELECT regress_util.try($$SELECT credsync.sync_push('alice', 'default', NULL)$$);
SELECT regress_util.try($$SELECT credsync.sync_push_many('alice', 'default', ARRAY[NULL]::uuid[], ARRAY[NULL]::bytea[])$$);
SELECT regress_util.try($$SELECT credsync.sync_delete('alice', 'default', NULL)$$);
-- Arrays.
SELECT regress_util.try($$SELECT credsync.sync_push_many('alice', 'default', NULL, NULL)$$);
SELECT regress_util.try($$SELECT credsync.sync_push_many('alice', 'default',
    ARRAY['00000000-0000-4000-8000-000000000001']::uuid[], ARRAY['\x01', '\x02']::bytea[])$$);
SELECT regress_util.try($$SELECT credsync.sync_push_many('alice', 'default', NULL,
    ARRAY['\x01', '\x02']::bytea[], ARRAY[1]::bigint[])$$);
SELECT regress_util.try($$SELECT credsync.sync_push_many('alice', 'default', NULL,
    ARRAY[['\x01'], ['\x02']]::bytea[])$$);
SELECT regress_util.try($$SELECT credsync.sync_push_many('alice', 'default',
    ARRAY['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000001']::uuid[],
    ARRAY['\x01', '\x02']::bytea[])$$);
SELECT regress_util.try($$SELECT credsync.sync_push('alice', 'default', '\x01', NULL, -1)$$);
-- Pull arguments.
SELECT regress_util.try($$SELECT credsync.sync_pull('alice', 'default', -1)$$);
SELECT regress_util.try($$SELECT credsync.sync_pull('alice', 'default', NULL)$$);
SELECT regress_util.try($$SELECT credsync.sync_pull('alice', 'default', 0, 0)$$);
SELECT regress_util.try($$SELECT credsync.sync_pull('alice', 'default', 0, 10001)$$);
SELECT regress_util.try($$SELECT credsync.sync_pull('alice', 'default', 0, 10000)$$);
SELECT regress_util.try($$SELECT credsync.sync_pull('alice', 'default', 0, NULL)$$);
SELECT regress_util.try($$SELECT credsync.sync_pull('alice', 'default', 0, 10, NULL)$$);
SELECT regress_util.try($$SELECT credsync.sync_state('alice', 'bad zone')$$);
SELECT regress_util.try($$SELECT credsync.sync_zones(NULL)$$);
SELECT regress_util.try($$SELECT credsync.sync_account('')$$);
SELECT regress_util.try($$SELECT credsync.notify_key('alice', '')$$);
SELECT regress_util.try($$SELECT credsync.issue_token(NULL)$$);
SELECT regress_util.try($$SELECT credsync.set_quota('alice', -1, NULL)$$);
SELECT regress_util.try($$SELECT credsync.drop_user('')$$);
SELECT regress_util.try($$SELECT credsync.compact(NULL)$$);
SELECT regress_util.try($$SELECT credsync.compact('-1 day')$$);

-- CS413: blob and batch limits (DETAIL names the setting and its value).
-- SET LOCAL in a transaction block: a setting is read where the call runs,
-- and on Citus that is the user's worker, which gets SET LOCAL with
-- citus.propagate_set_commands = 'local' but never a session's SET.
BEGIN;
SET LOCAL credsync.max_blob_bytes = 4;
SELECT regress_util.try($$SELECT credsync.sync_push('alice', 'default', '\x0102030405')$$);
SELECT regress_util.try($$SELECT credsync.sync_push('alice', 'default', '\x01020304')$$);
COMMIT;
BEGIN;
SET LOCAL credsync.max_batch_records = 2;
SELECT regress_util.try($$SELECT credsync.sync_push_many('alice', 'default', NULL, ARRAY['\x01', '\x02', '\x03']::bytea[])$$);
COMMIT;
SHOW credsync.max_blob_bytes;
SHOW credsync.max_batch_records;
SHOW credsync.default_max_bytes;
SHOW credsync.default_max_items;
SHOW credsync.op_retention;
SHOW credsync.notify;

-- Standard input errors keep their own SQLSTATE.
SELECT regress_util.try($$SELECT credsync.sync_push('alice', 'default', '\x01', 'not-a-uuid')$$);

-- Every failed push above changed nothing and spent no gencount
-- (only the two valid pushes at 256-byte user / 64-char zone and the 4-byte blob wrote).
SELECT gencount AS after FROM credsync.sync_state('alice', 'default');
SELECT gencount FROM credsync.sync_state(repeat('u', 256), 'default');
SELECT gencount FROM credsync.sync_state('alice', repeat('z', 64));
-- A read-only transaction (or a standby) cannot push: the write path does not
-- go through the executor, so it checks this itself.
BEGIN TRANSACTION READ ONLY;
SELECT * FROM credsync.sync_push('alice', 'default', '\x01');
ROLLBACK;
SELECT gencount FROM credsync.sync_state('alice', 'default');
