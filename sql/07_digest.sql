-- The zone digest equals the contract's formula, recomputed here in plain
-- SQL: the sum mod 2^256 of SHA-256(uuid bytes || gencount as 8 bytes
-- big-endian) over live records, as 32 bytes big-endian.
CREATE FUNCTION regress_util.to_numeric(b bytea) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(sum(get_byte(b, i)::numeric * 256::numeric ^ (length(b) - 1 - i)), 0)
      FROM generate_series(0, length(b) - 1) AS i $$;
CREATE FUNCTION regress_util.to_bytes32(n numeric) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT string_agg(set_byte('\x00'::bytea, 0,
                      (trunc(n / 256::numeric ^ (31 - i)) % 256)::int), ''::bytea ORDER BY i)
      FROM generate_series(0, 31) AS i $$;
CREATE FUNCTION regress_util.formula_digest(u text, z text) RETURNS bytea LANGUAGE sql AS $$
    SELECT regress_util.to_bytes32(coalesce(sum(regress_util.to_numeric(
               sha256(uuid_send(item) || int8send(gencount)))), 0) % (2::numeric ^ 256))
      FROM credsync.sync_pull(u, z, 0, 10000) $$;

-- An empty (unknown) zone: 32 zero bytes.
SELECT digest = '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea AS zero
  FROM credsync.sync_state('nobody', 'default');
-- One known record, checked against a hand-computed value.
SELECT gencount FROM credsync.sync_push('gina', 'one', '\x01', '00000000-0000-0000-0000-000000000000');
SELECT digest = sha256('\x00000000000000000000000000000000' || '\x0000000000000001'::bytea) AS single
  FROM credsync.sync_state('gina', 'one');
-- Zones after updates, deletes, batches and failed pushes all match the formula.
-- (The arrays are read first: Citus delegates a push whose arguments are
-- values, not subqueries.)
SELECT array_agg(int4send(i)) AS many_blobs FROM generate_series(1, 200) i \gset
SELECT count(*) FROM credsync.sync_push_many('gina', 'many', NULL, :'many_blobs');
SELECT array_agg(item) AS some_items, array_agg(CASE WHEN gencount % 3 = 0 THEN NULL ELSE '\xff'::bytea END) AS some_blobs
  FROM credsync.sync_pull('gina', 'many', 0, 100) \gset
SELECT count(*) FROM credsync.sync_push_many('gina', 'many', :'some_items', :'some_blobs');
SELECT u, z, digest = regress_util.formula_digest(u, z) AS matches
  FROM (VALUES ('alice', 'default'), ('alice', 'notes'), ('bob', 'default'), ('carol', 'default'),
               ('dave', 'default'), ('erin', 'a'), ('erin', 'b'), ('frank', 'default'),
               ('gina', 'one'), ('gina', 'many')) AS v(u, z),
       LATERAL credsync.sync_state(u, z)
 ORDER BY 1, 2;
-- The match above covers wrap-around: the plain sum of that zone's terms exceeds 2^256.
SELECT sum(regress_util.to_numeric(sha256(uuid_send(item) || int8send(gencount)))) > 2::numeric ^ 256 AS wraps
  FROM credsync.sync_pull('gina', 'many', 0, 10000);
