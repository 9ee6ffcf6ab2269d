-- sync_zone_states (1.5, issue 12): every zone of a user with what
-- sync_state gives for one zone, in one statement (one snapshot), so that
-- GET /v1/zones carries each zone's digest and a sync with nothing new is one
-- request. Hostile cases first.
\pset null '(null)'
-- Arguments are checked like sync_zones' (CS400 naming the argument).
SELECT regress_util.try($$SELECT * FROM credsync.sync_zone_states(NULL)$$);
SELECT regress_util.try($$SELECT * FROM credsync.sync_zone_states('')$$);
SELECT regress_util.try($$SELECT * FROM credsync.sync_zone_states(E'zs\nuser')$$);
-- Not callable by PUBLIC; an app role gets it from app_functions().
SELECT has_function_privilege('public', 'credsync.sync_zone_states(text)', 'EXECUTE') AS public_may_call;
SELECT 'credsync.sync_zone_states(text)'::regprocedure = ANY (credsync.app_functions()) AS in_app_functions;
-- An unknown user has no zones (no row, unlike sync_state's zeros).
SELECT count(*) FROM credsync.sync_zone_states('zs-nobody');

-- zs-user: zones in an order that byte order and most collations disagree on
-- ('B' < 'a' < 'b' in "C"), a tombstone, a compacted zone (horizon > 0), and a
-- deleted zone; zs-other holds a zone of the same name.
SELECT count(*) FROM credsync.sync_push_many('zs-user', 'b',
    ARRAY['00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000a2']::uuid[],
    ARRAY['\x01', '\x0202']::bytea[]);
SELECT d IS NOT NULL AS deleted FROM credsync.sync_delete('zs-user', 'b', '00000000-0000-4000-8000-0000000000a2') d;
SELECT gencount FROM credsync.sync_push('zs-user', 'B', '\x0b', '00000000-0000-4000-8000-0000000000b1');
SELECT gencount FROM credsync.sync_push('zs-user', 'a', '\x0a', '00000000-0000-4000-8000-0000000000c1');
SELECT d IS NOT NULL AS deleted FROM credsync.sync_delete('zs-user', 'a', '00000000-0000-4000-8000-0000000000c1') d;
SELECT credsync.compact('0 seconds') >= 1 AS compacted;
SELECT gencount FROM credsync.sync_push('zs-user', 'gone', '\x0c', '00000000-0000-4000-8000-0000000000d1');
SELECT credsync.zone_delete('zs-user', 'gone') AS removed;
SELECT gencount FROM credsync.sync_push('zs-other', 'b', '\xff', '00000000-0000-4000-8000-0000000000e1');

-- Each row is sync_state's for its zone; the zones are sync_zones' (the
-- deleted one left out), in byte order; nothing of zs-other's.
SELECT zone, gencount, encode(digest, 'hex') AS digest, items, bytes, horizon
FROM credsync.sync_zone_states('zs-user');
SELECT (SELECT array_agg(zone) FROM credsync.sync_zone_states('zs-user'))
     = (SELECT array_agg(zone) FROM credsync.sync_zones('zs-user')) AS same_zones_as_sync_zones;
SELECT z.zone, (z.gencount, z.digest, z.items, z.bytes, z.horizon) = (s.gencount, s.digest, s.items, s.bytes, s.horizon)
       AS same_as_sync_state
FROM credsync.sync_zone_states('zs-user') z, LATERAL credsync.sync_state('zs-user', z.zone) s;
SELECT zone, gencount, items FROM credsync.sync_zone_states('zs-other');

-- A deleted zone comes back with its next push, as in sync_zones.
SELECT gencount FROM credsync.sync_push('zs-user', 'gone', '\x0d', '00000000-0000-4000-8000-0000000000d2');
SELECT zone, gencount, items, horizon FROM credsync.sync_zone_states('zs-user') WHERE zone = 'gone';
