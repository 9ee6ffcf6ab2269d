-- Checks that the PL/pgSQL baseline does what credsync does: the same calls,
-- with fixed item ids, go through both; their transcripts (results, error
-- codes and details, pulls, zone state including the digest) must be equal.
-- Run by bench/run.sh before any measurement; prints "baseline check: ok".
CREATE FUNCTION pg_temp.transcript(s text, u text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    out text := '';
    a uuid := '00000000-0000-4000-8000-00000000000a';
    b uuid := '00000000-0000-4000-8000-00000000000b';
    c uuid := '00000000-0000-4000-8000-00000000000c';
    op uuid := '00000000-0000-4000-8000-0000000000f1';
    call text;
    calls text[] := ARRAY[
        format('SELECT string_agg(item || ''@'' || gencount, '','') FROM %I.sync_push_many(%L, ''z'', ARRAY[%L, %L, %L]::uuid[], ARRAY[''\x01'', ''\x0202'', ''\x030303'']::bytea[])', s, u, a, b, c),
        format('SELECT string_agg(item || ''@'' || gencount, '','') FROM %I.sync_push(%L, ''z'', ''\x0404'', %L)', s, u, a),
        format('SELECT string_agg(item || ''@'' || gencount, '','') FROM %I.sync_push(%L, ''z'', NULL, %L)', s, u, b),
        format('SELECT string_agg(item || ''@'' || gencount, '','') FROM %I.sync_push(%L, ''z'', ''\x05'', %L, 3)', s, u, c),
        format('SELECT string_agg(item || ''@'' || gencount, '','') FROM %I.sync_push_many(%L, ''z'', ARRAY[%L, %L]::uuid[], ARRAY[''\x06'', ''\x07'']::bytea[], ARRAY[1, 0])', s, u, a, b),
        format('SELECT string_agg(item || ''@'' || gencount, '','') FROM %I.sync_push_many(%L, ''z'', ARRAY[%L, %L]::uuid[], ARRAY[''\x06'', ''\x07'']::bytea[], ARRAY[0, 0])', s, u, a, b),
        format('SELECT string_agg(item || ''@'' || gencount, '','') FROM %I.sync_push(%L, ''z'', ''\x08'', %L, NULL, %L)', s, u, b, op),
        format('SELECT string_agg(item || ''@'' || gencount, '','') FROM %I.sync_push(%L, ''z'', ''\x08'', %L, NULL, %L)', s, u, b, op),
        format('SELECT string_agg(item || ''@'' || gencount, '','') FROM %I.sync_push(%L, ''z'', ''\x09'', %L, NULL, %L)', s, u, b, op),
        format('SELECT string_agg(item || ''@'' || gencount, '','') FROM %I.sync_push(%L, ''z'', ''\x0a'', %L)', s, u, b),
        format('SELECT string_agg(item || ''@'' || gencount, '','') FROM %I.sync_push(%L, ''z'', NULL, %L)', s, u, c),
        format('SELECT string_agg(item || ''@'' || gencount, '','') FROM %I.sync_push(%L, ''bad zone'', ''\x01'', %L)', s, u, c),
        format('SELECT string_agg(item || ''@'' || gencount || '':'' || deleted || '':'' || coalesce(encode(blob, ''hex''), ''-''), '','' ORDER BY gencount) FROM %I.sync_pull(%L, ''z'', 0)', s, u),
        format('SELECT string_agg(item || ''@'' || gencount || '':'' || deleted || '':'' || coalesce(encode(blob, ''hex''), ''-''), '','' ORDER BY gencount) FROM %I.sync_pull(%L, ''z'', 2)', s, u),
        format('SELECT string_agg(item || ''@'' || gencount, '','') FROM %I.sync_pull(%L, ''z'', 99)', s, u),
        format('SELECT gencount || '' '' || encode(digest, ''hex'') || '' '' || items || '' '' || bytes FROM %I.sync_state(%L, ''z'')', s, u)
    ];
    r text;
BEGIN
    FOREACH call IN ARRAY calls LOOP
        BEGIN
            EXECUTE call INTO r;
            out := out || coalesce(r, '(none)') || E'\n';
        EXCEPTION WHEN OTHERS THEN
            DECLARE d text; BEGIN
                GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
                -- JSON details compare as JSON (key order is not part of the contract)
                IF d LIKE '[%' OR d LIKE '{%' THEN d := d::jsonb::text; END IF;
                out := out || 'error ' || SQLSTATE || ' ' || coalesce(d, '') || E'\n';
            END;
        END;
    END LOOP;
    RETURN out;
END $$;

SELECT CASE WHEN pg_temp.transcript('credsync', u) = pg_temp.transcript('plcredsync', u)
            THEN 'baseline check: ok'
            ELSE 'baseline check: MISMATCH' || E'\n--- credsync\n' || pg_temp.transcript('credsync', u || '-2')
                 || E'\n--- plcredsync\n' || pg_temp.transcript('plcredsync', u || '-2') END
  FROM (SELECT 'chk-' || gen_random_uuid() AS u) s;

-- bench_seed writes digests with plcredsync.term(); check that formula against
-- the extension's own incremental digest over 200 records pushed through it.
SELECT count(*) FROM credsync.sync_push_many('seedchk', 'z', NULL,
    array_fill('\x42'::bytea, ARRAY[200])) \g /dev/null
SELECT CASE WHEN (SELECT digest FROM credsync.sync_state('seedchk', 'z')) =
                 (SELECT plcredsync.digest_bytes(mod(sum(plcredsync.term(r.item, r.gencount)), plcredsync.modulus()))
                    FROM credsync.records r
                   WHERE r.user_id = 'seedchk' AND r.zone = 'z' AND NOT r.deleted)
            THEN 'seed digest check: ok' ELSE 'seed digest check: MISMATCH' END;
SELECT credsync.drop_user('seedchk') IS NOT NULL AS dropped \g /dev/null

-- and bench_seed's own digest against the extension's incremental update:
-- seed 50 records, overwrite one through credsync (which subtracts the
-- seeded term and adds the new one), then compare with a recomputation.
SELECT bench_seed('seedchk', 1, 50, 'z', 1, '\x42') \g /dev/null
SELECT count(*) FROM credsync.sync_push('seedchk1', 'z', '\x43',
    (SELECT item FROM credsync.records WHERE user_id = 'seedchk1' AND gencount = 7)) \g /dev/null
SELECT CASE WHEN (SELECT digest FROM credsync.sync_state('seedchk1', 'z')) =
                 (SELECT plcredsync.digest_bytes(mod(sum(plcredsync.term(r.item, r.gencount)), plcredsync.modulus()))
                    FROM credsync.records r
                   WHERE r.user_id = 'seedchk1' AND r.zone = 'z' AND NOT r.deleted)
            THEN 'bench_seed digest check: ok' ELSE 'bench_seed digest check: MISMATCH' END;
SELECT credsync.drop_user('seedchk1') IS NOT NULL AS dropped \g /dev/null
