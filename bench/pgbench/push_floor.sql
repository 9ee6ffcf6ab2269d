-- (a) the floor: allocate under the zone row lock and upsert, one statement.
\set u random(1, :users)
WITH z AS (
    INSERT INTO floor.zones AS z (user_id, zone, gencount) VALUES ('u' || :u, 'default', 1)
    ON CONFLICT (user_id, zone) DO UPDATE SET gencount = z.gencount + 1
    RETURNING z.user_id, z.zone, z.gencount)
INSERT INTO floor.records AS r (user_id, zone, item, gencount, deleted, blob, written_at)
SELECT z.user_id, z.zone, gen_random_uuid(), z.gencount, false, decode(repeat('5a', 256), 'hex'), now() FROM z
ON CONFLICT (user_id, zone, item) DO UPDATE
SET gencount = EXCLUDED.gencount, deleted = EXCLUDED.deleted, blob = EXCLUDED.blob, written_at = EXCLUDED.written_at
RETURNING r.item, r.gencount;
