-- if_match and atomic batches: any mismatch rejects the whole push.
SELECT gencount FROM credsync.sync_push('carol', 'default', '\x01', '00000000-0000-4000-8000-0000000000c1');
SELECT gencount FROM credsync.sync_push('carol', 'default', '\x02', '00000000-0000-4000-8000-0000000000c2');
SELECT credsync.sync_delete('carol', 'default', '00000000-0000-4000-8000-0000000000c2');

-- n > 0: the item's current gencount (live or tombstone) must be n.
SELECT gencount FROM credsync.sync_push('carol', 'default', '\x11', '00000000-0000-4000-8000-0000000000c1', 1);
SELECT regress_util.try($$SELECT credsync.sync_push('carol', 'default', '\x12', '00000000-0000-4000-8000-0000000000c1', 1)$$);
SELECT gencount FROM credsync.sync_push('carol', 'default', '\x22', '00000000-0000-4000-8000-0000000000c2', 3);
-- 0: the item must not exist or be deleted.
SELECT gencount FROM credsync.sync_push('carol', 'default', '\x33', '00000000-0000-4000-8000-0000000000c3', 0);
SELECT regress_util.try($$SELECT credsync.sync_push('carol', 'default', '\x34', '00000000-0000-4000-8000-0000000000c3', 0)$$);
SELECT credsync.sync_delete('carol', 'default', '00000000-0000-4000-8000-0000000000c3', 6);
SELECT gencount FROM credsync.sync_push('carol', 'default', '\x35', '00000000-0000-4000-8000-0000000000c3', 0);
-- An absent item is reported as gencount 0, deleted false.
SELECT regress_util.try($$SELECT credsync.sync_push('carol', 'default', '\x44', '00000000-0000-4000-8000-0000000000c4', 9)$$);
SELECT regress_util.try($$SELECT * FROM credsync.sync_delete('carol', 'default', '00000000-0000-4000-8000-0000000000c4', 1)$$);
-- A tombstone is reported with deleted true.
SELECT credsync.sync_delete('carol', 'default', '00000000-0000-4000-8000-0000000000c3');
SELECT regress_util.try($$SELECT credsync.sync_push('carol', 'default', '\x36', '00000000-0000-4000-8000-0000000000c3', 1)$$);

-- A batch with one mismatch applies nothing; DETAIL lists every conflicting item.
SELECT gencount, items, bytes, digest FROM credsync.sync_state('carol', 'default') \gset before_
SELECT regress_util.try($$SELECT credsync.sync_push_many('carol', 'default',
    ARRAY['00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000c5',
          '00000000-0000-4000-8000-0000000000c2', '00000000-0000-4000-8000-0000000000c6']::uuid[],
    ARRAY['\x51', '\x52', '\x53', NULL]::bytea[],
    ARRAY[4, NULL, 99, 1]::bigint[])$$);
SELECT gencount = :before_gencount AS same_gencount, items = :before_items AS same_items,
       digest = :'before_digest' AS same_digest
  FROM credsync.sync_state('carol', 'default');
-- No gap: the next push takes the very next gencount.
SELECT * FROM credsync.sync_push_many('carol', 'default',
    ARRAY['00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000c5']::uuid[],
    ARRAY['\x51', '\x52']::bytea[],
    ARRAY[4, 0]::bigint[]);
SELECT item, gencount, deleted, blob FROM credsync.sync_pull('carol', 'default', 8);

-- A push that fails midway inside a transaction leaves nothing either.
BEGIN;
SELECT gencount FROM credsync.sync_push('carol', 'default', '\x61', '00000000-0000-4000-8000-0000000000c7');
ROLLBACK;
SELECT gencount FROM credsync.sync_push('carol', 'default', '\x61', '00000000-0000-4000-8000-0000000000c7');
SELECT gencount FROM credsync.sync_pull('carol', 'default', 0) ORDER BY 1;
