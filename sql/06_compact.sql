-- Compaction removes old tombstones and raises the zone's horizon;
-- incremental cursors below it are "expired", cursors above the zone's
-- gencount are "ahead"; full-sync pages are never expired.
SELECT gencount FROM credsync.sync_push('frank', 'default', '\x01', '00000000-0000-4000-8000-0000000000f1');
SELECT gencount FROM credsync.sync_push('frank', 'default', '\x02', '00000000-0000-4000-8000-0000000000f2');
SELECT gencount FROM credsync.sync_push('frank', 'default', '\x03', '00000000-0000-4000-8000-0000000000f3');
SELECT credsync.sync_delete('frank', 'default', '00000000-0000-4000-8000-0000000000f1');
SELECT credsync.sync_delete('frank', 'default', '00000000-0000-4000-8000-0000000000f2');
SELECT gencount FROM credsync.sync_push('frank', 'default', '\x04', '00000000-0000-4000-8000-0000000000f4',
    NULL, '77777777-7777-4777-8777-777777777777');

-- Nothing is old enough yet with the default keep of 30 days.
SELECT credsync.compact();
SELECT horizon FROM credsync.sync_state('frank', 'default');
SELECT pg_sleep(0.01);
-- keep = 0: every tombstone written before now goes; op ids stay (op_retention 24h).
SELECT credsync.compact('0 seconds') >= 2 AS removed_tombstones;
SELECT gencount, items, horizon FROM credsync.sync_state('frank', 'default');
SELECT item, gencount, deleted FROM credsync.sync_pull('frank', 'default', 5);
SELECT count(*) AS remembered FROM credsync.ops WHERE op_id = '77777777-7777-4777-8777-777777777777';

-- since = horizon is fine; below it is expired; above gencount is ahead.
SELECT gencount FROM credsync.sync_pull('frank', 'default', 5);
SELECT regress_util.try($$SELECT * FROM credsync.sync_pull('frank', 'default', 4)$$);
SELECT regress_util.try($$SELECT * FROM credsync.sync_pull('frank', 'default', 1)$$);
SELECT regress_util.try($$SELECT * FROM credsync.sync_pull('frank', 'default', 7)$$);
SELECT regress_util.try($$SELECT * FROM credsync.sync_pull('frank', 'default', 7, 10, true)$$);
SELECT regress_util.try($$SELECT * FROM credsync.sync_pull('nobody', 'default', 1)$$);
-- since = 0 is never expired: a fresh sync.
SELECT gencount FROM credsync.sync_pull('frank', 'default', 0);
-- Full sync pages: never expired, and they include tombstones.
SELECT credsync.sync_delete('frank', 'default', '00000000-0000-4000-8000-0000000000f3');
SELECT item, gencount, deleted FROM credsync.sync_pull('frank', 'default', 1, 10, true);

-- Op ids are removed after the larger of keep and credsync.op_retention.
SET credsync.op_retention = 0;
SELECT pg_sleep(0.01);
SELECT credsync.compact('0 seconds') >= 1 AS removed;
RESET credsync.op_retention;
SELECT count(*) AS remembered FROM credsync.ops WHERE op_id = '77777777-7777-4777-8777-777777777777';
SELECT gencount, horizon FROM credsync.sync_state('frank', 'default');
-- Counting continues above everything compacted.
SELECT gencount FROM credsync.sync_push('frank', 'default', '\x05');
