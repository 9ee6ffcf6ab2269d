-- Push, pull and state: gencounts per (user, zone), dense and in order.
CREATE EXTENSION credsync;
\pset null '(null)'

-- Test helper: run a statement, show its SQLSTATE and DETAIL instead of failing.
CREATE SCHEMA regress_util;
GRANT USAGE ON SCHEMA regress_util TO PUBLIC;
CREATE FUNCTION regress_util.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    state text;
    detail text;
BEGIN
    EXECUTE statement;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL;
    RETURN state || ': ' || coalesce(detail, '');
END $$;

-- A new zone reads as all zeros.
SELECT * FROM credsync.sync_state('alice', 'default');
SELECT * FROM credsync.sync_zones('alice');

-- The first push creates the zone and takes gencount 1.
SELECT * FROM credsync.sync_push('alice', 'default', '\x0a01', '00000000-0000-4000-8000-00000000000a');
SELECT * FROM credsync.sync_push('alice', 'default', '\x0b01', '00000000-0000-4000-8000-00000000000b');
-- A server-generated item id when none is given.
SELECT item IS NOT NULL AS has_item, gencount FROM credsync.sync_push('alice', 'default', '\x0c01');

-- A batch takes consecutive gencounts in array order.
SELECT * FROM credsync.sync_push_many('alice', 'default',
    ARRAY['00000000-0000-4000-8000-00000000000d', '00000000-0000-4000-8000-00000000000e']::uuid[],
    ARRAY['\x0d01', '\x0e01']::bytea[]);
-- NULL item_ids array: all new items, distinct random version-4 uuids.
SELECT count(*), min(gencount), max(gencount), count(DISTINCT item) AS distinct_items,
       bool_and(item::text ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$') AS version_4
  FROM credsync.sync_push_many('alice', 'default', NULL, ARRAY['\x01', '\x02', '\x03']::bytea[]);

-- Independent: bob's zones and alice's other zones count from 1 on their own.
SELECT gencount FROM credsync.sync_push('bob', 'default', '\xbb', '00000000-0000-4000-8000-0000000000b1');
SELECT gencount FROM credsync.sync_push('alice', 'notes', '\xaa', '00000000-0000-4000-8000-0000000000a1');
SELECT gencount FROM credsync.sync_push('alice', 'default', '\x0a02', '00000000-0000-4000-8000-00000000000a');

SELECT gencount, items, bytes, horizon FROM credsync.sync_state('alice', 'default');
SELECT gencount, items, bytes, horizon FROM credsync.sync_state('bob', 'default');
SELECT * FROM credsync.sync_zones('alice');

-- An update keeps only the newest version of the item.
SELECT item, gencount, deleted, blob FROM credsync.sync_pull('alice', 'default', 0)
 WHERE item::text LIKE '00000000-%';
-- Incremental pull: strictly after since, ascending.
SELECT gencount FROM credsync.sync_pull('alice', 'default', 5);
-- Paging: max_records per page, continue from the last gencount received.
SELECT gencount FROM credsync.sync_pull('alice', 'default', 0, 3);
SELECT gencount FROM credsync.sync_pull('alice', 'default', 4, 3);
SELECT gencount FROM credsync.sync_pull('alice', 'default', 8, 3);
-- since = gencount: nothing new, not an error.
SELECT count(*) FROM credsync.sync_pull('alice', 'default', 9);

-- Deletes write tombstones: since = 0 skips them, since > 0 returns them.
SELECT credsync.sync_delete('alice', 'default', '00000000-0000-4000-8000-00000000000b');
SELECT * FROM credsync.sync_push('alice', 'default', NULL, '00000000-0000-4000-8000-00000000000d');
SELECT item, gencount, deleted, blob FROM credsync.sync_pull('alice', 'default', 9);
SELECT count(*) FILTER (WHERE deleted) AS tombstones, count(*) AS total
  FROM credsync.sync_pull('alice', 'default', 0);
-- A delete of an absent or already deleted item still writes a tombstone.
SELECT credsync.sync_delete('alice', 'default', '00000000-0000-4000-8000-00000000000b');
SELECT credsync.sync_delete('alice', 'default', '00000000-0000-4000-8000-0000000000ff');
SELECT item, gencount, deleted FROM credsync.sync_pull('alice', 'default', 11);
-- A batch with deletes (NULL blob elements) raises the gencount by exactly k.
SELECT * FROM credsync.sync_push_many('alice', 'default',
    ARRAY['00000000-0000-4000-8000-00000000000e', '00000000-0000-4000-8000-0000000000f1']::uuid[],
    ARRAY[NULL, '\xf1']::bytea[]);
SELECT gencount, items, bytes FROM credsync.sync_state('alice', 'default');
-- items and bytes equal a recount of the live records.
SELECT count(*) AS items, sum(octet_length(blob)) AS bytes
  FROM credsync.sync_pull('alice', 'default', 0, 10000);

-- An empty batch returns nothing and creates no zone.
SELECT * FROM credsync.sync_push_many('alice', 'empty', ARRAY[]::uuid[], ARRAY[]::bytea[]);
SELECT * FROM credsync.sync_push_many('alice', 'empty', NULL, '{}');
SELECT zone FROM credsync.sync_zones('alice');

-- Zones are listed by name in byte order.
SELECT gencount FROM credsync.sync_push('alice', 'Zeta', '\x01');
SELECT gencount FROM credsync.sync_push('alice', 'a.b-c_d', '\x01');
SELECT zone, gencount FROM credsync.sync_zones('alice');
