-- sync_pull_page (1.2): sync_pull's page with its header row: the zone's
-- gencount and whether records lie beyond the page, cut by blob bytes.
\pset null '(null)'

-- An unknown zone: the header alone, gencount 0, nothing more.
SELECT * FROM credsync.sync_pull_page('pager', 'default');

-- Five records of 2, 3, 4, 5 and 6 bytes; the third deleted, then a sixth.
SELECT count(*) FROM credsync.sync_push_many('pager', 'default',
    ARRAY['00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000a2',
          '00000000-0000-4000-8000-0000000000a3', '00000000-0000-4000-8000-0000000000a4',
          '00000000-0000-4000-8000-0000000000a5']::uuid[],
    ARRAY['\x0101', '\x020202', '\x03030303', '\x0404040404', '\x050505050505']::bytea[]);
SELECT credsync.sync_delete('pager', 'default', '00000000-0000-4000-8000-0000000000a3');
SELECT count(*) FROM credsync.sync_push('pager', 'default', '\x06', '00000000-0000-4000-8000-0000000000a6');

-- The whole zone from 0: live records only (a new device has nothing to delete).
SELECT * FROM credsync.sync_pull_page('pager', 'default', 0);
-- The same rows as sync_pull gives, header aside, for every since, limit
-- and full_sync: the number of combinations compared, and how many differ.
SELECT count(*) AS compared,
       count(*) FILTER (WHERE page IS DISTINCT FROM pull) AS differ,
       count(*) FILTER (WHERE page IS NULL) AS empty
  FROM generate_series(0, 7) s, generate_series(1, 7) l, (VALUES (false), (true)) v(f),
       LATERAL (SELECT array_agg((p.item, p.gencount, p.deleted, p.blob)::text ORDER BY p.gencount) AS page
                  FROM credsync.sync_pull_page('pager', 'default', s, l, f) p WHERE p.item IS NOT NULL) a,
       LATERAL (SELECT array_agg(q::text ORDER BY q.gencount) AS pull
                  FROM credsync.sync_pull('pager', 'default', s, l, f) q) b;

-- more: records beyond a full page.
SELECT item, gencount, more FROM credsync.sync_pull_page('pager', 'default', 0, 2);
-- A page exactly full of live records, a tombstone beyond it: more (the
-- device must still learn of the delete once it has the records).
SELECT credsync.sync_delete('pager', 'default', '00000000-0000-4000-8000-0000000000a6');
SELECT item, gencount, more FROM credsync.sync_pull_page('pager', 'default', 0, 4);
-- Up to the zone's gencount: nothing beyond.
SELECT item, gencount, deleted, more FROM credsync.sync_pull_page('pager', 'default', 4, 3);
SELECT item, gencount, more FROM credsync.sync_pull_page('pager', 'default', 7, 3);

-- The byte cap: records until their blobs pass max_bytes; the first always.
SELECT item, gencount, octet_length(blob) AS bytes, more FROM credsync.sync_pull_page('pager', 'default', 0, 10, false, 5);
SELECT item, gencount, octet_length(blob) AS bytes, more FROM credsync.sync_pull_page('pager', 'default', 0, 10, false, 0);
SELECT item, gencount, octet_length(blob) AS bytes, more FROM credsync.sync_pull_page('pager', 'default', 0, 10, false, 15);
SELECT item, gencount, octet_length(blob) AS bytes, more FROM credsync.sync_pull_page('pager', 'default', 0, 4, false, 15);
-- Blobs count at their own length, also when stored compressed (3,000
-- bytes of one value compress to a few dozen): 3,000 + 3,000 passes 5,000.
SELECT count(*) FROM credsync.sync_push_many('pager', 'toasted', NULL,
    array_fill(decode(repeat('5a', 3000), 'hex'), ARRAY[3]));
SELECT gencount, octet_length(blob) AS bytes, more FROM credsync.sync_pull_page('pager', 'toasted', 0, 10, false, 5000);

-- Errors as sync_pull's, and max_bytes below 0.
SELECT regress_util.try($$SELECT credsync.sync_pull_page('pager', 'default', 9)$$);
SELECT regress_util.try($$SELECT credsync.sync_pull_page('pager', 'default', -1)$$);
SELECT regress_util.try($$SELECT credsync.sync_pull_page('pager', 'default', 0, 0)$$);
SELECT regress_util.try($$SELECT credsync.sync_pull_page('pager', 'default', 0, 10001)$$);
SELECT regress_util.try($$SELECT credsync.sync_pull_page('pager', 'default', 0, 10, NULL)$$);
SELECT regress_util.try($$SELECT credsync.sync_pull_page('pager', 'default', 0, 10, false, -1)$$);
SELECT regress_util.try($$SELECT credsync.sync_pull_page('pager', 'bad zone')$$);
SELECT regress_util.try($$SELECT credsync.sync_pull_page(NULL, 'default')$$);
-- Compacted away: expired, unless full_sync.
SELECT credsync.compact('0 seconds') >= 2 AS compacted;
SELECT regress_util.try($$SELECT credsync.sync_pull_page('pager', 'default', 1)$$);
SELECT item, gencount, more FROM credsync.sync_pull_page('pager', 'default', 1, 10, true);

-- An app role may call it (grant_app lists it); PUBLIC may not.
SELECT 'credsync.sync_pull_page(text,text,bigint,integer,boolean,bigint)'::regprocedure
       = ANY (credsync.app_functions()) AS app_function,
       has_function_privilege('public', 'credsync.sync_pull_page(text,text,bigint,integer,boolean,bigint)', 'EXECUTE')
       AS public_execute;
