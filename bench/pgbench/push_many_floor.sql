-- (a) the floor for a batch: 100 new records in one statement, their 100
-- gencounts allocated by one bump of the zone row (records/s = tps x 100).
\set u random(1, :users)
WITH z AS (
    INSERT INTO floor.zones AS z (user_id, zone, gencount) VALUES ('u' || :u, 'default', 100)
    ON CONFLICT (user_id, zone) DO UPDATE SET gencount = z.gencount + 100
    RETURNING z.user_id, z.zone, z.gencount)
INSERT INTO floor.records AS r (user_id, zone, item, gencount, deleted, blob, written_at)
SELECT z.user_id, z.zone, gen_random_uuid(), z.gencount - 100 + g, false, decode(repeat('5a', 256), 'hex'), now()
  FROM z, generate_series(1, 100) g
ON CONFLICT (user_id, zone, item) DO UPDATE
SET gencount = EXCLUDED.gencount, deleted = EXCLUDED.deleted, blob = EXCLUDED.blob, written_at = EXCLUDED.written_at
RETURNING r.item, r.gencount;
