-- The cursor after a full pull (PROTOCOL.md, issue 10 item 8): when no more
-- records follow, a client continues from the zone's gencount read in the
-- same snapshot as its last page, not from the last record it received.
-- When the zone's newest changes were deletes and they were compacted, the
-- last record lies below the horizon and pulling from it is "expired" for
-- ever; the zone's gencount is the horizon or above, and is fine.
\pset null '(null)'
SELECT count(*) FROM credsync.sync_push_many('livelock', 'default',
    ARRAY['00000000-0000-4000-8000-00000000ee01', '00000000-0000-4000-8000-00000000ee02',
          '00000000-0000-4000-8000-00000000ee03', '00000000-0000-4000-8000-00000000ee04']::uuid[],
    ARRAY['\x01', '\x02', '\x03', '\x04']::bytea[]);
-- The newest changes are deletes (gencounts 5 and 6).
SELECT credsync.sync_delete('livelock', 'default', '00000000-0000-4000-8000-00000000ee03');
SELECT credsync.sync_delete('livelock', 'default', '00000000-0000-4000-8000-00000000ee04');
SELECT pg_sleep(0.01);
SELECT credsync.compact('0 seconds') >= 2 AS compacted;
SELECT gencount, horizon FROM credsync.sync_state('livelock', 'default');

-- A full sync from 0: the live records (last gencount 2) and, in the page's
-- header, the zone's gencount 6 with more = false.
SELECT item, gencount, deleted, more FROM credsync.sync_pull_page('livelock', 'default', 0);
-- The cursor rule: continue from the header's gencount. Not expired, empty.
SELECT item, gencount, deleted, more FROM credsync.sync_pull_page('livelock', 'default', 6);
SELECT count(*) AS records FROM credsync.sync_pull('livelock', 'default', 6);
-- The old rule (the last record received, 2) is below the horizon: expired,
-- and syncing again from 0 would lead back to 2.
SELECT regress_util.try($$SELECT * FROM credsync.sync_pull('livelock', 'default', 2)$$);
SELECT regress_util.try($$SELECT * FROM credsync.sync_pull_page('livelock', 'default', 2)$$);

-- A SQL client reads its cursor with sync_state in the same snapshot as its
-- last sync_pull page: one REPEATABLE READ transaction (or one statement).
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT item, gencount FROM credsync.sync_pull('livelock', 'default', 0);
SELECT gencount AS cursor FROM credsync.sync_state('livelock', 'default') \gset
COMMIT;
SELECT :cursor AS cursor, regress_util.try(format($$SELECT * FROM credsync.sync_pull('livelock', 'default', %s)$$, :cursor));

-- The same pull in one statement: the page's records with the zone's gencount.
SELECT p.item, p.gencount, s.gencount AS zone_gencount
  FROM credsync.sync_pull('livelock', 'default', 0) p, credsync.sync_state('livelock', 'default') s;

-- A later push moves the zone on; the client pulls it from its cursor.
SELECT gencount FROM credsync.sync_push('livelock', 'default', '\x05', '00000000-0000-4000-8000-00000000ee05');
SELECT item, gencount, deleted, more FROM credsync.sync_pull_page('livelock', 'default', 6);
