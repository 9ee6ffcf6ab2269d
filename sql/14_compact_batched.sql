-- compact_batched (1.3): compact() a batch of zones at a time, each batch
-- committed in its own transaction. Same effect and same count as compact();
-- a CALL outside a transaction block only; admin only.
\pset null '(null)'
-- Two identical sets of zones with tombstones (cbA-*, cbB-*): 3 users x 2
-- zones, each zone 3 live records and 2 tombstones, and 5 op ids. (A
-- COMMIT per zone: on Citus a transaction whose pushes are for users on two
-- workers cannot commit, docs/scaling.md.)
DO $$
DECLARE s text; u int; z int;
BEGIN
    FOREACH s IN ARRAY ARRAY['cbA', 'cbB'] LOOP
        FOR u IN 1..3 LOOP
            FOR z IN 1..2 LOOP
                PERFORM credsync.sync_push_many(s || '-' || u, 'z' || z,
                    ARRAY['00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000c2',
                          '00000000-0000-4000-8000-0000000000c3', '00000000-0000-4000-8000-0000000000c4',
                          '00000000-0000-4000-8000-0000000000c5']::uuid[],
                    ARRAY['\x01', '\x02', '\x03', '\x04', '\x05']::bytea[]);
                PERFORM * FROM credsync.sync_delete(s || '-' || u, 'z' || z, '00000000-0000-4000-8000-0000000000c2');
                PERFORM * FROM credsync.sync_delete(s || '-' || u, 'z' || z, '00000000-0000-4000-8000-0000000000c4');
                COMMIT;
            END LOOP;
        END LOOP;
        FOR u IN 1..5 LOOP
            PERFORM credsync.sync_push(s || '-1', 'z1', '\x09',
                                       ('00000000-0000-4000-8000-0000000000' || (20 + u))::uuid, NULL,
                                       ('00000000-0000-4000-8000-0000000000' || (10 + u))::uuid);
            COMMIT;
        END LOOP;
    END LOOP;
END $$;
-- Written 400 days ago: only these are older than keep = '365 days'.
-- (now() - ..., not written_at - ...: Citus refuses a STABLE expression of
-- a column in an UPDATE of a distributed table.)
UPDATE credsync.records SET written_at = now() - interval '400 days' WHERE user_id LIKE 'cbA-%' AND deleted;
UPDATE credsync.ops SET created_at = now() - interval '400 days' WHERE user_id LIKE 'cbA-%';

-- Batches of 4 zones: 6 zones take two batches; 5 op ids take two batches.
CALL credsync.compact_batched('365 days', 4);
SELECT user_id, zone, gencount, items, horizon FROM credsync.zones WHERE user_id LIKE 'cbA-%' ORDER BY 1, 2;
SELECT count(*) FILTER (WHERE deleted) AS tombstones, count(*) FILTER (WHERE NOT deleted) AS live
  FROM credsync.records WHERE user_id LIKE 'cbA-%';
SELECT count(*) AS ops_left FROM credsync.ops WHERE user_id LIKE 'cbA-%';
-- Nothing else was old enough.
SELECT count(*) AS untouched_tombstones FROM credsync.records WHERE user_id LIKE 'cbB-%' AND deleted;

-- compact() on the twin set gives the same count and the same zones.
UPDATE credsync.records SET written_at = now() - interval '400 days' WHERE user_id LIKE 'cbB-%' AND deleted;
UPDATE credsync.ops SET created_at = now() - interval '400 days' WHERE user_id LIKE 'cbB-%';
SELECT credsync.compact('365 days') AS removed_by_compact;
-- (Both sides read first: on Citus, a and b are on different shards.)
WITH a AS MATERIALIZED (SELECT * FROM credsync.zones WHERE user_id LIKE 'cbA-%'),
     b AS MATERIALIZED (SELECT * FROM credsync.zones WHERE user_id LIKE 'cbB-%')
SELECT count(*) AS zones_that_differ
  FROM a JOIN b ON b.user_id = 'cbB' || substr(a.user_id, 4) AND b.zone = a.zone
 WHERE (a.gencount, a.digest, a.items, a.bytes, a.horizon) IS DISTINCT FROM (b.gencount, b.digest, b.items, b.bytes, b.horizon);
SELECT u, z, v.matches FROM (VALUES ('cbA-1'), ('cbA-3')) a(u), (VALUES ('z1'), ('z2')) b(z),
       LATERAL credsync.verify_zone(u, z) v ORDER BY 1, 2;
-- Nothing left to do: 0, and a batch of 1 works the same.
CALL credsync.compact_batched('365 days', 1);
-- Pulls after it: below the horizon expired, from the zone's gencount fine.
SELECT regress_util.try($$SELECT * FROM credsync.sync_pull('cbA-1', 'z1', 1)$$);
SELECT count(*) FROM credsync.sync_pull('cbA-1', 'z1', 12);

-- A top-level DO block may CALL it (it is not atomic); PL/pgSQL needs a
-- variable for the INOUT argument.
DO $$
DECLARE removed bigint;
BEGIN
    CALL credsync.compact_batched('365 days', 10, removed);
    RAISE NOTICE 'removed: %', removed;
END $$;
-- Inside a transaction block or a function it cannot commit: 2D000, nothing done.
BEGIN;
SELECT regress_util.try($$CALL credsync.compact_batched('0 seconds')$$);
ROLLBACK;
SELECT regress_util.try($$CALL credsync.compact_batched('0 seconds')$$);
-- Arguments: CS400 naming them.
SELECT regress_util.try($$CALL credsync.compact_batched(NULL)$$);
SELECT regress_util.try($$CALL credsync.compact_batched('-1 day')$$);
SELECT regress_util.try($$CALL credsync.compact_batched('1 day', 0)$$);
SELECT regress_util.try($$CALL credsync.compact_batched('1 day', NULL)$$);

-- A procedure that commits may be neither SECURITY DEFINER nor carry SET
-- (PostgreSQL refuses COMMIT in it); the library runs each batch as the
-- owner with search_path pg_catalog, pg_temp instead. Not for PUBLIC, not
-- an app function.
SELECT p.prokind, p.prosecdef, p.proconfig, p.proowner::regrole = (SELECT extowner::regrole FROM pg_extension WHERE extname = 'credsync') AS extension_owner,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute,
       p.oid::regprocedure = ANY (credsync.app_functions()) AS app_function
  FROM pg_proc p WHERE p.proname = 'compact_batched' AND p.pronamespace = 'credsync'::regnamespace;
-- A role granted nothing cannot call it.
CREATE ROLE regress_nomaint LOGIN;  -- LOGIN: on Citus the coordinator connects to the workers as it
SET ROLE regress_nomaint;
SELECT regress_util.try($$CALL credsync.compact_batched('365 days')$$);
RESET ROLE;
-- A maintenance role granted just this procedure compacts, as the owner,
-- though it can read no table, and a hostile search_path changes nothing.
CREATE ROLE regress_maint LOGIN;  -- LOGIN: on Citus the coordinator connects to the workers as it
GRANT USAGE ON SCHEMA credsync TO regress_maint;
GRANT EXECUTE ON PROCEDURE credsync.compact_batched(interval, integer, bigint) TO regress_maint;
CREATE SCHEMA regress_evil_cb;
GRANT USAGE, CREATE ON SCHEMA regress_evil_cb TO regress_maint;
CREATE TABLE regress_evil_cb.records (user_id text, zone text, deleted boolean, written_at timestamptz);
GRANT ALL ON regress_evil_cb.records TO regress_maint;
SELECT count(*) FROM credsync.sync_push('cbM', 'z', '\x01', '00000000-0000-4000-8000-0000000000c1');
SELECT credsync.sync_delete('cbM', 'z', '00000000-0000-4000-8000-0000000000c1');
UPDATE credsync.records SET written_at = now() - interval '400 days' WHERE user_id = 'cbM';
SET ROLE regress_maint;
SET search_path = regress_evil_cb, public;
SELECT regress_util.try($$SELECT count(*) FROM credsync.records$$);
CALL credsync.compact_batched('365 days', 1);
SELECT regress_util.try($$SELECT count(*) FROM credsync.records$$);
RESET search_path;
RESET ROLE;
SELECT horizon FROM credsync.sync_state('cbM', 'z');
SELECT current_user, current_setting('search_path') AS search_path;
DROP SCHEMA regress_evil_cb CASCADE;
DROP OWNED BY regress_maint, regress_nomaint;
DROP ROLE regress_maint, regress_nomaint;
