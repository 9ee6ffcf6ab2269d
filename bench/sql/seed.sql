-- Set-based dataset generation for the benchmarks (setup only, not measured).
--
-- bench_seed(prefix, users, per_user, zone, first_gencount, blob) writes
-- `per_user` live records into zone `zone` of each of the users
-- prefix1..prefixN, with gencounts first_gencount .. first_gencount+per_user-1,
-- and one credsync.zones row per user whose gencount, items, bytes and digest
-- are exactly what the pushes would have left: the digest is the sum mod
-- 2^256 of SHA-256(item || gencount) over the live records, added up here as
-- eight sums of 32-bit limbs (exact in bigint below 2^31 records a zone).
-- bench/sql/check_baseline.sql checks this formula against the extension.
-- A zone's counter is set to its highest gencount; with first_gencount > 1
-- the zone looks as if earlier versions had been overwritten.
CREATE FUNCTION bench_limb(h bytea, i int) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT (get_byte(h, 4 * i)::bigint << 24) | (get_byte(h, 4 * i + 1) << 16)
                 | (get_byte(h, 4 * i + 2) << 8) | get_byte(h, 4 * i + 3) $$;

CREATE FUNCTION bench_seed(prefix text, users int, per_user int, zone_name text,
                           first_gencount bigint, blob bytea) RETURNS bigint
    LANGUAGE sql
    AS $$
    WITH ins AS (
        INSERT INTO credsync.records (user_id, zone, item, gencount, deleted, blob, written_at)
        SELECT prefix || u, zone_name, gen_random_uuid(), first_gencount + k - 1, false, blob, now()
          FROM generate_series(1, users) AS u, generate_series(1, per_user) AS k
        RETURNING user_id, zone, gencount, octet_length(blob) AS len,
                  sha256(uuid_send(item) || int8send(gencount)) AS h),
    sums AS (
        SELECT user_id, zone, max(gencount) AS gencount, count(*) AS items, sum(len) AS bytes,
               sum(bench_limb(h, 0)) AS l0, sum(bench_limb(h, 1)) AS l1, sum(bench_limb(h, 2)) AS l2,
               sum(bench_limb(h, 3)) AS l3, sum(bench_limb(h, 4)) AS l4, sum(bench_limb(h, 5)) AS l5,
               sum(bench_limb(h, 6)) AS l6, sum(bench_limb(h, 7)) AS l7
          FROM ins GROUP BY user_id, zone),
    z AS (
        INSERT INTO credsync.zones (user_id, zone, gencount, digest, items, bytes)
        SELECT user_id, zone, gencount,
               plcredsync.digest_bytes(mod(
                   ((((((l0::numeric * 4294967296 + l1) * 4294967296 + l2) * 4294967296 + l3)
                      * 4294967296 + l4) * 4294967296 + l5) * 4294967296 + l6) * 4294967296 + l7,
                   plcredsync.modulus())),
               items, bytes
          FROM sums
        RETURNING items)
    SELECT sum(items)::bigint FROM z
    $$;
