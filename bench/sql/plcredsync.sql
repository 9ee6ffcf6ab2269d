-- bench baseline (b): "the obvious alternative".
--
-- The credsync SQL contract (PROTOCOL.md) written in PL/pgSQL the way a team
-- without a C++ extension would write it: same tables and indexes, same
-- checks (user/zone validation, batch and blob limits, duplicate items,
-- if_match with a CS409 conflict list, op_id replay with a request
-- fingerprint and CS422, quota on growth with CS507, keyed NOTIFY), and the
-- same digest: the sum mod 2^256 of SHA-256(item || gencount as int8 BE) over
-- live records. The digest is kept as numeric (exact, 78 digits), converted to
-- 32 bytes when read. It lives in its own schema, plcredsync, next to credsync
-- in the same database, so both run side by side.
--
-- Limits are constants here (1 MiB blobs, 1000 records a push, 256 MiB /
-- 100000 items default quota), the defaults of the credsync settings.
-- plcredsync.notify (a custom GUC, default on) turns NOTIFY off like
-- credsync.notify.

CREATE SCHEMA plcredsync;

CREATE TABLE plcredsync.zones (
    user_id  text    NOT NULL,
    zone     text    NOT NULL,
    gencount bigint  NOT NULL DEFAULT 0,
    digest   numeric NOT NULL DEFAULT 0,
    items    bigint  NOT NULL DEFAULT 0,
    bytes    bigint  NOT NULL DEFAULT 0,
    horizon  bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, zone)
);

CREATE TABLE plcredsync.records (
    user_id    text        NOT NULL,
    zone       text        NOT NULL,
    item       uuid        NOT NULL,
    gencount   bigint      NOT NULL,
    deleted    boolean     NOT NULL,
    blob       bytea,
    written_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, zone, item),
    CHECK (deleted = (blob IS NULL))
);
CREATE UNIQUE INDEX ON plcredsync.records (user_id, zone, gencount);
CREATE INDEX ON plcredsync.records (written_at) WHERE deleted;

CREATE TABLE plcredsync.ops (
    user_id        text        NOT NULL,
    zone           text        NOT NULL,
    op_id          uuid        NOT NULL,
    request_sha256 bytea       NOT NULL,
    items          uuid[]      NOT NULL,
    gencounts      bigint[]    NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, zone, op_id)
);

CREATE TABLE plcredsync.quotas (
    user_id   text PRIMARY KEY,
    max_bytes bigint,
    max_items bigint
);

CREATE TABLE plcredsync.install_secret (secret bytea NOT NULL);
INSERT INTO plcredsync.install_secret
SELECT decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex');

-- SHA-256 of the 16 uuid bytes || 8 bytes big-endian gencount, as a number.
CREATE FUNCTION plcredsync.term(item uuid, gencount bigint) RETURNS numeric
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
DECLARE
    h bytea := sha256(uuid_send(item) || int8send(gencount));
    n numeric := 0;
BEGIN
    FOR i IN 0..7 LOOP
        n := n * 4294967296 + ((get_byte(h, 4 * i)::bigint << 24) | (get_byte(h, 4 * i + 1) << 16)
                               | (get_byte(h, 4 * i + 2) << 8) | get_byte(h, 4 * i + 3));
    END LOOP;
    RETURN n;
END $$;

-- 2^256
CREATE FUNCTION plcredsync.modulus() RETURNS numeric LANGUAGE sql IMMUTABLE
    AS $$ SELECT 2::numeric ^ 256 $$;

-- The 32 bytes (big-endian) of a digest kept as numeric.
CREATE FUNCTION plcredsync.digest_bytes(d numeric) RETURNS bytea
    LANGUAGE plpgsql IMMUTABLE STRICT
    AS $$
DECLARE
    hex text := '';
    n numeric := d;
BEGIN
    FOR i IN 1..8 LOOP
        hex := lpad(to_hex(mod(n, 4294967296)::bigint), 8, '0') || hex;
        n := div(n, 4294967296);
    END LOOP;
    RETURN decode(hex, 'hex');
END $$;

CREATE FUNCTION plcredsync.notify_key(user_id text, zone text) RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT encode(sha256(s.secret || convert_to(user_id, 'UTF8') || '\x00'::bytea
                         || convert_to(zone, 'UTF8')), 'hex')
      FROM plcredsync.install_secret s
    $$;

CREATE FUNCTION plcredsync.check_args(user_id text, zone text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    AS $$
BEGIN
    IF user_id IS NULL OR octet_length(user_id) NOT BETWEEN 1 AND 256
       OR user_id ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION 'invalid user id' USING ERRCODE = 'CS400', DETAIL = 'user_id';
    END IF;
    IF zone IS NULL OR zone !~ '^[A-Za-z0-9_.-]{1,64}$' THEN
        RAISE EXCEPTION 'invalid zone' USING ERRCODE = 'CS400', DETAIL = 'zone';
    END IF;
END $$;

CREATE FUNCTION plcredsync.sync_push_many(user_id text, zone text, item_ids uuid[], blobs bytea[],
        if_match bigint[] DEFAULT NULL, op_id uuid DEFAULT NULL)
    RETURNS TABLE(item uuid, gencount bigint)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    p_user text := user_id;
    p_zone text := zone;
    p_op uuid := op_id;
    n int := coalesce(array_length(blobs, 1), 0);
    ids uuid[] := '{}';
    gens bigint[] := '{}';
    fp bytea;
    v_last bigint;
    v_digest numeric;
    b_items bigint;
    b_bytes bigint;
    a_items bigint;
    a_bytes bigint;
    o_gencount bigint;
    o_deleted boolean;
    o_len bigint;
    o_found boolean;
    conflicts jsonb := '[]';
    stored plcredsync.ops%ROWTYPE;
    q_bytes bigint;
    q_items bigint;
    u_bytes bigint;
    u_items bigint;
    m int;
BEGIN
    PERFORM plcredsync.check_args(p_user, p_zone);
    IF blobs IS NULL THEN
        RAISE EXCEPTION 'blobs must not be NULL' USING ERRCODE = 'CS400', DETAIL = 'blobs';
    END IF;
    IF item_ids IS NOT NULL AND coalesce(array_length(item_ids, 1), 0) <> n THEN
        RAISE EXCEPTION 'item_ids and blobs differ in length' USING ERRCODE = 'CS400', DETAIL = 'item_ids';
    END IF;
    IF if_match IS NOT NULL AND coalesce(array_length(if_match, 1), 0) <> n THEN
        RAISE EXCEPTION 'if_match and blobs differ in length' USING ERRCODE = 'CS400', DETAIL = 'if_match';
    END IF;
    IF n > 1000 THEN
        RAISE EXCEPTION 'too many records' USING ERRCODE = 'CS413', DETAIL = 'max_batch_records=1000';
    END IF;
    IF n = 0 THEN
        RETURN;
    END IF;
    FOR i IN 1..n LOOP
        IF item_ids[i] IS NULL AND blobs[i] IS NULL THEN
            RAISE EXCEPTION 'a delete needs an item id' USING ERRCODE = 'CS400', DETAIL = 'item_ids';
        END IF;
        IF if_match[i] < 0 THEN
            RAISE EXCEPTION 'bad if_match' USING ERRCODE = 'CS400', DETAIL = 'if_match';
        END IF;
        IF octet_length(blobs[i]) > 1048576 THEN
            RAISE EXCEPTION 'blob too large' USING ERRCODE = 'CS413', DETAIL = 'max_blob_bytes=1048576';
        END IF;
    END LOOP;
    IF n > 1 AND (SELECT count(DISTINCT x) <> count(x) FROM unnest(item_ids) AS x) THEN
        RAISE EXCEPTION 'duplicate item' USING ERRCODE = 'CS400', DETAIL = 'item_ids';
    END IF;
    IF p_op IS NOT NULL THEN
        fp := sha256(convert_to(concat_ws('|', 'v1', item_ids::text, if_match::text), 'UTF8')
                     || coalesce((SELECT string_agg(coalesce(sha256(b), '\x'::bytea), '\x00'::bytea)
                                    FROM unnest(blobs) AS b), '\x'::bytea));
    END IF;

    -- allocate n gencounts under the zone's row lock
    INSERT INTO plcredsync.zones AS z (user_id, zone, gencount) VALUES (p_user, p_zone, n)
    ON CONFLICT ON CONSTRAINT zones_pkey DO UPDATE SET gencount = z.gencount + EXCLUDED.gencount
    RETURNING z.gencount, z.digest, z.items, z.bytes INTO v_last, v_digest, b_items, b_bytes;
    a_items := b_items;
    a_bytes := b_bytes;

    -- op id: replay (and give the gencounts back) or go on
    IF p_op IS NOT NULL THEN
        SELECT * INTO stored FROM plcredsync.ops o
         WHERE o.user_id = p_user AND o.zone = p_zone AND o.op_id = p_op;
        IF FOUND THEN
            IF stored.request_sha256 <> fp THEN
                RAISE EXCEPTION 'op_id reused' USING ERRCODE = 'CS422', DETAIL = p_op::text;
            END IF;
            UPDATE plcredsync.zones z SET gencount = z.gencount - n
             WHERE z.user_id = p_user AND z.zone = p_zone;
            RETURN QUERY SELECT * FROM unnest(stored.items, stored.gencounts);
            RETURN;
        END IF;
    END IF;

    FOR i IN 1..n LOOP
        ids[i] := coalesce(item_ids[i], gen_random_uuid());
        gens[i] := v_last - n + i;
        SELECT r.gencount, r.deleted, octet_length(r.blob) INTO o_gencount, o_deleted, o_len
          FROM plcredsync.records r
         WHERE r.user_id = p_user AND r.zone = p_zone AND r.item = ids[i];
        o_found := FOUND;
        IF if_match[i] IS NOT NULL AND NOT (
               (if_match[i] = 0 AND (NOT o_found OR o_deleted))
            OR (if_match[i] > 0 AND o_found AND o_gencount = if_match[i])) THEN
            conflicts := conflicts || jsonb_build_object('item', ids[i],
                'gencount', CASE WHEN o_found THEN o_gencount ELSE 0 END,
                'deleted', o_found AND o_deleted);
            CONTINUE;
        END IF;
        INSERT INTO plcredsync.records AS r (user_id, zone, item, gencount, deleted, blob, written_at)
        VALUES (p_user, p_zone, ids[i], gens[i], blobs[i] IS NULL, blobs[i], now())
        ON CONFLICT ON CONSTRAINT records_pkey DO UPDATE
        SET gencount = EXCLUDED.gencount, deleted = EXCLUDED.deleted,
            blob = EXCLUDED.blob, written_at = EXCLUDED.written_at;
        IF o_found AND NOT o_deleted THEN
            v_digest := v_digest - plcredsync.term(ids[i], o_gencount);
            a_items := a_items - 1;
            a_bytes := a_bytes - o_len;
        END IF;
        IF blobs[i] IS NOT NULL THEN
            v_digest := v_digest + plcredsync.term(ids[i], gens[i]);
            a_items := a_items + 1;
            a_bytes := a_bytes + octet_length(blobs[i]);
        END IF;
    END LOOP;
    IF jsonb_array_length(conflicts) > 0 THEN
        RAISE EXCEPTION 'if_match failed' USING ERRCODE = 'CS409', DETAIL = conflicts::text;
    END IF;
    v_digest := mod(mod(v_digest, plcredsync.modulus()) + plcredsync.modulus(), plcredsync.modulus());

    -- quota: only growth is checked
    IF a_items > b_items OR a_bytes > b_bytes THEN
        SELECT coalesce(sum(z.bytes), 0), coalesce(sum(z.items), 0) INTO u_bytes, u_items
          FROM plcredsync.zones z WHERE z.user_id = p_user AND z.zone <> p_zone;
        SELECT q.max_bytes, q.max_items INTO q_bytes, q_items
          FROM plcredsync.quotas q WHERE q.user_id = p_user;
        q_bytes := coalesce(q_bytes, 268435456);
        q_items := coalesce(q_items, 100000);
        IF (a_bytes > b_bytes AND u_bytes + a_bytes > q_bytes)
           OR (a_items > b_items AND u_items + a_items > q_items) THEN
            RAISE EXCEPTION 'quota exceeded' USING ERRCODE = 'CS507',
                DETAIL = json_build_object('max_bytes', q_bytes, 'max_items', q_items,
                                           'bytes', u_bytes + b_bytes, 'items', u_items + b_items)::text;
        END IF;
    END IF;

    UPDATE plcredsync.zones z SET digest = v_digest, items = a_items, bytes = a_bytes
     WHERE z.user_id = p_user AND z.zone = p_zone;
    IF p_op IS NOT NULL THEN
        INSERT INTO plcredsync.ops (user_id, zone, op_id, request_sha256, items, gencounts)
        VALUES (p_user, p_zone, p_op, fp, ids, gens);
    END IF;
    IF coalesce(current_setting('plcredsync.notify', true), 'on') <> 'off' THEN
        PERFORM pg_notify('plcredsync', plcredsync.notify_key(p_user, p_zone) || ' ' || v_last);
    END IF;
    RETURN QUERY SELECT * FROM unnest(ids, gens);
END $$;

CREATE FUNCTION plcredsync.sync_push(user_id text, zone text, blob bytea,
        item_id uuid DEFAULT NULL, if_match bigint DEFAULT NULL, op_id uuid DEFAULT NULL)
    RETURNS TABLE(item uuid, gencount bigint)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF item_id IS NULL AND blob IS NULL THEN
        RAISE EXCEPTION 'a delete needs an item id' USING ERRCODE = 'CS400', DETAIL = 'item_id';
    END IF;
    RETURN QUERY SELECT * FROM plcredsync.sync_push_many(user_id, zone, ARRAY[item_id], ARRAY[blob],
        CASE WHEN if_match IS NULL THEN NULL ELSE ARRAY[if_match] END, op_id);
END $$;

CREATE FUNCTION plcredsync.sync_pull(user_id text, zone text, since bigint DEFAULT 0,
        max_records int DEFAULT 1000, full_sync boolean DEFAULT false)
    RETURNS TABLE(item uuid, gencount bigint, deleted boolean, blob bytea)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    p_user text := user_id;
    p_zone text := zone;
    g bigint := 0;
    h bigint := 0;
BEGIN
    PERFORM plcredsync.check_args(p_user, p_zone);
    IF since IS NULL OR since < 0 THEN
        RAISE EXCEPTION 'bad since' USING ERRCODE = 'CS400', DETAIL = 'since';
    END IF;
    IF max_records IS NULL OR max_records NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION 'bad max_records' USING ERRCODE = 'CS400', DETAIL = 'max_records';
    END IF;
    SELECT z.gencount, z.horizon INTO g, h FROM plcredsync.zones z
     WHERE z.user_id = p_user AND z.zone = p_zone;
    g := coalesce(g, 0);
    h := coalesce(h, 0);
    IF since > g THEN
        RAISE EXCEPTION 'cursor ahead' USING ERRCODE = 'CS410',
            DETAIL = json_build_object('reason', 'ahead', 'gencount', g, 'horizon', h)::text;
    END IF;
    IF NOT full_sync AND since > 0 AND since < h THEN
        RAISE EXCEPTION 'cursor expired' USING ERRCODE = 'CS410',
            DETAIL = json_build_object('reason', 'expired', 'gencount', g, 'horizon', h)::text;
    END IF;
    RETURN QUERY
        SELECT r.item, r.gencount, r.deleted, r.blob FROM plcredsync.records r
         WHERE r.user_id = p_user AND r.zone = p_zone AND r.gencount > since
           AND (since > 0 OR NOT r.deleted)
         ORDER BY r.gencount LIMIT max_records;
END $$;

CREATE FUNCTION plcredsync.sync_state(user_id text, zone text)
    RETURNS TABLE(gencount bigint, digest bytea, items bigint, bytes bigint, horizon bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    p_user text := user_id;
    p_zone text := zone;
BEGIN
    PERFORM plcredsync.check_args(p_user, p_zone);
    RETURN QUERY
        SELECT coalesce(max(z.gencount), 0), plcredsync.digest_bytes(coalesce(max(z.digest), 0)),
               coalesce(max(z.items), 0), coalesce(max(z.bytes), 0), coalesce(max(z.horizon), 0)
          FROM plcredsync.zones z WHERE z.user_id = p_user AND z.zone = p_zone;
END $$;
