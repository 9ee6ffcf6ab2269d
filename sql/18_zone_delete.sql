-- zone_delete (1.4, issue 16): a user deletes one of their zones. The
-- zone's row stays with its counter (a gencount is never handed out twice:
-- guarantee 1); the deletion takes one gencount of its own and raises the
-- horizon to it, so that every cursor handed out before it is "expired"
-- (CS410) and the device syncs again from 0, to an empty zone.
\pset null '(null)'
-- zd-user/photos: 3 records, an update, a tombstone (gencount 5), an op id.
SELECT count(*) FROM credsync.sync_push_many('zd-user', 'photos',
    ARRAY['00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000a2',
          '00000000-0000-4000-8000-0000000000a3']::uuid[], ARRAY['\x01', '\x0202', '\x030303']::bytea[],
    NULL, '00000000-0000-4000-8000-00000000f001');
SELECT gencount FROM credsync.sync_push('zd-user', 'photos', '\x0101', '00000000-0000-4000-8000-0000000000a1');
SELECT credsync.sync_delete('zd-user', 'photos', '00000000-0000-4000-8000-0000000000a2');
-- Not to be touched: the user's other zone, another user's zone of the same name.
SELECT gencount FROM credsync.sync_push('zd-user', 'notes', '\x0a', '00000000-0000-4000-8000-0000000000b1');
SELECT gencount FROM credsync.sync_push('zd-other', 'photos', '\x0b', '00000000-0000-4000-8000-0000000000c1');
SELECT credsync.set_quota('zd-user', NULL, 3);
SELECT * FROM credsync.sync_account('zd-user');
SELECT gencount, items, bytes, horizon FROM credsync.sync_state('zd-user', 'photos');

-- A device in sync holds cursor 5 (the zone's gencount); one mid-way holds 3.
SELECT credsync.zone_delete('zd-user', 'photos') AS removed;
SELECT (SELECT count(*) FROM credsync.records WHERE user_id = 'zd-user' AND zone = 'photos') AS records,
       (SELECT count(*) FROM credsync.ops WHERE user_id = 'zd-user' AND zone = 'photos') AS ops,
       (SELECT count(*) FROM credsync.zones WHERE user_id = 'zd-user' AND zone = 'photos') AS zone_rows;
-- The state: the deletion's gencount 6, horizon 6, empty, the zero digest.
SELECT * FROM credsync.sync_state('zd-user', 'photos');
-- Not listed until its next push; the other zones are.
SELECT * FROM credsync.sync_zones('zd-user');
SELECT * FROM credsync.sync_zones('zd-other');
SELECT * FROM credsync.sync_state('zd-user', 'notes');
-- Usage and quota count only what is left.
SELECT * FROM credsync.sync_account('zd-user');
-- Every cursor from before the deletion is expired: the device in sync at
-- 5, the one mid-way at 3, and a full sync that had started (pages with
-- full_sync are otherwise never expired).
SELECT regress_util.try($$SELECT * FROM credsync.sync_pull('zd-user', 'photos', 5)$$) AS in_sync_device,
       regress_util.try($$SELECT * FROM credsync.sync_pull('zd-user', 'photos', 3)$$) AS midway_device,
       regress_util.try($$SELECT * FROM credsync.sync_pull('zd-user', 'photos', 2, 1000, true)$$) AS full_sync_page,
       regress_util.try($$SELECT * FROM credsync.sync_pull_page('zd-user', 'photos', 5)$$) AS page_in_sync,
       regress_util.try($$SELECT * FROM credsync.sync_pull_page('zd-user', 'photos', 2, 1000, true)$$) AS page_full_sync;
-- Syncing again from 0 gives an empty zone and cursor 6, which then works.
SELECT * FROM credsync.sync_pull('zd-user', 'photos', 0);
SELECT item, gencount, deleted, blob, more FROM credsync.sync_pull_page('zd-user', 'photos', 0);
SELECT * FROM credsync.sync_pull('zd-user', 'photos', 6);
SELECT regress_util.try($$SELECT * FROM credsync.sync_pull('zd-user', 'photos', 7)$$) AS ahead;
-- The recount agrees with the stored aggregates.
SELECT * FROM credsync.verify_zone('zd-user', 'photos');
-- Deleting it again changes nothing (no push since); so does deleting a zone
-- that does not exist, which creates no row.
SELECT credsync.zone_delete('zd-user', 'photos') AS again, credsync.zone_delete('zd-user', 'never') AS unknown;
SELECT gencount, horizon FROM credsync.sync_state('zd-user', 'photos');
SELECT count(*) AS unknown_zone_rows FROM credsync.zones WHERE user_id = 'zd-user' AND zone = 'never';

-- The next push continues above the deletion: 7 (no gencount handed out
-- twice), and the zone is listed again. The quota has room again.
SELECT gencount FROM credsync.sync_push('zd-user', 'photos', '\x0c', '00000000-0000-4000-8000-0000000000a1');
SELECT * FROM credsync.sync_zones('zd-user');
SELECT * FROM credsync.sync_pull('zd-user', 'photos', 0);
SELECT * FROM credsync.sync_pull('zd-user', 'photos', 6);
-- A cursor from before the deletion stays expired after new pushes, full
-- sync included.
SELECT regress_util.try($$SELECT * FROM credsync.sync_pull('zd-user', 'photos', 5)$$) AS old_cursor,
       regress_util.try($$SELECT * FROM credsync.sync_pull('zd-user', 'photos', 5, 1000, true)$$) AS old_full_sync;
-- A full sync that starts after the deletion pages normally.
SELECT gencount FROM credsync.sync_push('zd-user', 'photos', '\x0d', '00000000-0000-4000-8000-0000000000a4');
SELECT item, gencount FROM credsync.sync_pull('zd-user', 'photos', 0, 1);
SELECT item, gencount FROM credsync.sync_pull('zd-user', 'photos', 7, 1, true);
-- The op id of a push before the deletion was removed with it: replayed,
-- it is a new push (docs/sql-api.md, "Deleting a zone").
SELECT credsync.set_quota('zd-user', NULL, NULL);
SELECT item, gencount FROM credsync.sync_push_many('zd-user', 'photos',
    ARRAY['00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000a2',
          '00000000-0000-4000-8000-0000000000a3']::uuid[], ARRAY['\x01', '\x0202', '\x030303']::bytea[],
    NULL, '00000000-0000-4000-8000-00000000f001');
SELECT matches, items FROM credsync.verify_zone('zd-user', 'photos');
-- Deleting a zone with records again: the new deletion's gencount.
SELECT credsync.zone_delete('zd-user', 'photos') AS removed;
SELECT gencount, items, horizon FROM credsync.sync_state('zd-user', 'photos');
SELECT regress_util.try($$SELECT * FROM credsync.sync_pull('zd-user', 'photos', 11, 1000, true)$$) AS before_second_delete;
-- Nothing else changed.
SELECT * FROM credsync.sync_pull('zd-user', 'notes', 0);
SELECT * FROM credsync.sync_pull('zd-other', 'photos', 0);
SELECT matches FROM credsync.verify_zone('zd-other', 'photos');

-- drop_user removes a deleted zone's row too.
SELECT credsync.drop_user('zd-user') > 0 AS dropped;
SELECT count(*) AS zd_user_rows FROM credsync.zones WHERE user_id = 'zd-user';

-- Bad input, privileges.
SELECT regress_util.try($$SELECT credsync.zone_delete('zd-user', 'bad zone')$$) AS bad_zone,
       regress_util.try($$SELECT credsync.zone_delete('', 'z')$$) AS bad_user,
       regress_util.try($$SELECT credsync.zone_delete('zd-user', NULL)$$) AS null_zone;
SELECT p.provolatile, p.prosecdef, p.proconfig, has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute,
       p.oid::regprocedure = ANY (credsync.app_functions()) AS app_function
  FROM pg_proc p WHERE p.oid = 'credsync.zone_delete(text,text)'::regprocedure;
-- sync_zones, sync_pull, sync_pull_page and drop_user of 1.4 read the new
-- column: their SQL objects name 1.4's entry points.
SELECT proname, prosrc FROM pg_proc
 WHERE pronamespace = 'credsync'::regnamespace AND proname IN ('sync_zones', 'sync_pull', 'sync_pull_page', 'drop_user')
 ORDER BY 1;
