-- Accounts and login (1.4, issue 11): account_create, login_challenge, login.
-- Ed25519 keys and signatures come from test/tools/ed25519-sign (the openssl
-- command line), called through psql's backquotes: a seed is what a client
-- derives from the password, the public key is the account's login_key.
\pset null '(null)'
\set seed_a a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1
\set seed_b b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2
\set pub_a `test/tools/ed25519-sign public :seed_a`
\set pub_b `test/tools/ed25519-sign public :seed_b`
-- The signed message: "credsync login v1\n" || challenge || name (UTF-8), as hex.
CREATE FUNCTION regress_util.proof(name text, challenge bytea) RETURNS text LANGUAGE sql
    AS $$ SELECT encode(convert_to(E'credsync login v1\n', 'UTF8') || challenge || convert_to(name, 'UTF8'), 'hex') $$;
-- What is stored for a name, table by table.
CREATE FUNCTION regress_util.login_rows(who text)
    RETURNS TABLE(accounts bigint, tokens bigint, challenges bigint, failures integer) LANGUAGE plpgsql
    -- (PL/pgSQL: Citus cannot plan a SQL function's parameters.)
    AS $$ #variable_conflict use_column
    BEGIN RETURN QUERY
          SELECT (SELECT count(*) FROM credsync.accounts WHERE name = who),
                 (SELECT count(*) FROM credsync.tokens WHERE user_id = who),
                 (SELECT count(*) FROM credsync.login_challenges WHERE name = who),
                 (SELECT failures FROM credsync.login_failures WHERE name = who); END $$;

-- === account_create
SELECT user_id, device IS NOT NULL AS has_device, token ~ '^cs_[0-9a-f]{64}$' AS token_shape
  FROM credsync.account_create('acct-alice', decode(:'pub_a', 'hex'), '\x00112233445566778899aabbccddeeff',
                               2, 67108864, '\xa11ce0', 'alice laptop') \gset first_
SELECT :'first_user_id' AS user_id, :'first_has_device' AS has_device, :'first_token_shape' AS token_shape;
-- The first device is a token like any other: it resolves to the account.
SELECT token AS first_token, device AS first_device
  FROM credsync.account_create('acct-carl', decode(:'pub_a', 'hex'), '\x00112233445566778899aabbccddeeff',
                               2, 67108864, '\xca41') \gset
SELECT credsync.token_user_hash(sha256(convert_to(:'first_token', 'UTF8'))) AS first_token_user,
       (SELECT device = :'first_device' FROM credsync.token_identity(sha256(convert_to(:'first_token', 'UTF8')))) AS same_device;
SELECT label, revoked_at IS NULL AS live FROM credsync.tokens WHERE user_id = 'acct-alice';
SELECT name, salt, kdf_ops, kdf_mem, login_key = decode(:'pub_a', 'hex') AS key_stored, wrapped_key
  FROM credsync.accounts WHERE name = 'acct-alice';
SELECT * FROM credsync.account_create('acct-bob', decode(:'pub_b', 'hex'), '\xb0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0',
                                      3, 268435456, '\xb0b0') \gset bob_
SELECT label FROM credsync.tokens WHERE user_id = 'acct-bob';

-- A name that is taken: an account already (whatever the key), or a user id
-- with data or tokens (a signup never adopts someone's data). CSA09, and
-- nothing is stored.
SELECT regress_util.try(format($$SELECT * FROM credsync.account_create('acct-alice', %L, '\x00000000000000000000000000000000',
    3, 268435456, '\x01')$$, decode(:'pub_b', 'hex'))) AS same_name;
SELECT gencount FROM credsync.sync_push('acct-squatted', 'z', '\x01');
SELECT regress_util.try($$SELECT * FROM credsync.account_create('acct-squatted', '\x0000000000000000000000000000000000000000000000000000000000000000',
    '\x00000000000000000000000000000000', 3, 268435456, '\x01')$$) AS has_zones;
SELECT credsync.issue_token('acct-tokenonly') IS NOT NULL AS token_issued;
SELECT credsync.revoke_token(credsync.issue_token('acct-revokedonly')) AS revoked;
SELECT regress_util.try($$SELECT * FROM credsync.account_create('acct-tokenonly', '\x0000000000000000000000000000000000000000000000000000000000000000',
    '\x00000000000000000000000000000000', 3, 268435456, '\x01')$$) AS has_token;
SELECT regress_util.try($$SELECT * FROM credsync.account_create('acct-revokedonly', '\x0000000000000000000000000000000000000000000000000000000000000000',
    '\x00000000000000000000000000000000', 3, 268435456, '\x01')$$) AS has_revoked_token;
SELECT who, (regress_util.login_rows(who)).* FROM unnest(ARRAY['acct-alice', 'acct-squatted', 'acct-tokenonly']) who;
SELECT count(*) AS squatted_records FROM credsync.records WHERE user_id = 'acct-squatted';

-- Bad input: CS400 naming the argument, and nothing stored.
CREATE FUNCTION regress_util.create_with(name text, login_key bytea, salt bytea, ops bigint, mem bigint,
        wrapped bytea, label text) RETURNS text LANGUAGE sql
    AS $$ SELECT regress_util.try(format('SELECT * FROM credsync.account_create(%L, %L, %L, %s, %s, %L, %L)',
                                         name, login_key, salt, coalesce(ops::text, 'NULL'),
                                         coalesce(mem::text, 'NULL'), wrapped, label)) $$;
\set k32 '\\x0000000000000000000000000000000000000000000000000000000000000000'
\set s16 '\\x00000000000000000000000000000000'
SELECT t.what, regress_util.create_with(t.name, t.login_key, t.salt, t.ops, t.mem, t.wrapped, t.label) AS outcome
  FROM (VALUES
    ('empty name',        '',                 :'k32'::bytea, :'s16'::bytea, 3::bigint, 268435456::bigint, '\x01'::bytea, NULL::text),
    ('name 257 bytes',    repeat('n', 257),   :'k32', :'s16', 3, 268435456, '\x01', NULL),
    ('name with newline', E'a\nb',            :'k32', :'s16', 3, 268435456, '\x01', NULL),
    ('NULL name',         NULL,               :'k32', :'s16', 3, 268435456, '\x01', NULL),
    ('key 31 bytes',      'acct-bad',         substr(:'k32'::bytea, 2), :'s16', 3, 268435456, '\x01', NULL),
    ('key 33 bytes',      'acct-bad',         :'k32'::bytea || '\x00'::bytea, :'s16', 3, 268435456, '\x01', NULL),
    ('NULL key',          'acct-bad',         NULL, :'s16', 3, 268435456, '\x01', NULL),
    ('salt 15 bytes',     'acct-bad',         :'k32', substr(:'s16'::bytea, 2), 3, 268435456, '\x01', NULL),
    ('salt 17 bytes',     'acct-bad',         :'k32', :'s16'::bytea || '\x00'::bytea, 3, 268435456, '\x01', NULL),
    ('ops 0',             'acct-bad',         :'k32', :'s16', 0, 268435456, '\x01', NULL),
    ('ops 21',            'acct-bad',         :'k32', :'s16', 21, 268435456, '\x01', NULL),
    ('NULL ops',          'acct-bad',         :'k32', :'s16', NULL, 268435456, '\x01', NULL),
    ('mem 8 MiB - 1',     'acct-bad',         :'k32', :'s16', 3, 8388607, '\x01', NULL),
    ('mem 4 GiB + 1',     'acct-bad',         :'k32', :'s16', 3, 4294967297, '\x01', NULL),
    ('wrapped empty',     'acct-bad',         :'k32', :'s16', 3, 268435456, '\x', NULL),
    ('wrapped 4097',      'acct-bad',         :'k32', :'s16', 3, 268435456, decode(repeat('00', 4097), 'hex'), NULL),
    ('NULL wrapped',      'acct-bad',         :'k32', :'s16', 3, 268435456, NULL, NULL),
    ('label 201 bytes',   'acct-bad',         :'k32', :'s16', 3, 268435456, '\x01', repeat('l', 201)),
    ('label with tab',    'acct-bad',         :'k32', :'s16', 3, 268435456, '\x01', E'my\tphone'),
    ('label with U+0085', 'acct-bad',         :'k32', :'s16', 3, 268435456, '\x01', U&'my\0085phone')
  ) AS t(what, name, login_key, salt, ops, mem, wrapped, label);
SELECT (regress_util.login_rows('acct-bad')).*;
-- The bounds themselves are accepted: ops 1..20, mem 8 MiB..4 GiB, wrapped
-- key 1..4096 bytes, a label of 200 bytes (UTF-8 is not a control character).
SELECT regress_util.create_with('acct-bounds-1', :'k32', :'s16', 1, 8388608, '\x01', repeat('l', 200)) AS low_bounds,
       regress_util.create_with('acct-bounds-2', :'k32', :'s16', 20, 4294967296, decode(repeat('00', 4096), 'hex'),
                                'téléphone') AS high_bounds;

-- === login_challenge: a known name gets its account's salt and cost ...
SELECT length(challenge) AS challenge_bytes, salt, kdf_ops, kdf_mem, expires_in
  FROM credsync.login_challenge('acct-alice');
-- ... an unknown name the same shape: same columns and types, a 16-byte
-- salt (keyed with the installation secret: the same on every call, another
-- for another name), the default cost (argon2id13 moderate). Its challenge
-- is stored all the same.
SELECT length(challenge) AS challenge_bytes, length(salt) AS salt_bytes, kdf_ops, kdf_mem, expires_in,
       pg_typeof(challenge) AS t1, pg_typeof(salt) AS t2, pg_typeof(kdf_ops) AS t3, pg_typeof(kdf_mem) AS t4,
       pg_typeof(expires_in) AS t5
  FROM credsync.login_challenge('acct-nobody');
SELECT salt AS fake_salt_1, challenge AS challenge_1 FROM credsync.login_challenge('acct-nobody') \gset
SELECT salt AS fake_salt_2, challenge AS challenge_2 FROM credsync.login_challenge('acct-nobody') \gset
SELECT salt AS other_fake_salt FROM credsync.login_challenge('acct-nobody-else') \gset
SELECT :'fake_salt_1' = :'fake_salt_2' AS fake_salt_repeats, :'challenge_1' <> :'challenge_2' AS challenges_differ,
       :'fake_salt_1' <> :'other_fake_salt' AS fake_salts_differ_by_name;
-- The fake salt is the first 16 bytes of HMAC-SHA-256(installation secret,
-- "credsync fake salt v1\n" || name), computed here from RFC 2104.
CREATE FUNCTION regress_util.hmac_sha256(k bytea, m bytea) RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE ipad bytea := decode(repeat('36', 64), 'hex'); opad bytea := decode(repeat('5c', 64), 'hex');
BEGIN
    FOR i IN 0 .. length(k) - 1 LOOP
        ipad := set_byte(ipad, i, get_byte(k, i) # 54);
        opad := set_byte(opad, i, get_byte(k, i) # 92);
    END LOOP;
    RETURN sha256(opad || sha256(ipad || m));
END $$;
SELECT substr(regress_util.hmac_sha256(s.secret, convert_to(E'credsync fake salt v1\nacct-nobody', 'UTF8')), 1, 16)
           = :'fake_salt_1'::bytea AS fake_salt_is_the_hmac
  FROM credsync.install_secret s;
SELECT count(*) AS stored_for_unknown, bool_and(expires_at > now() AND expires_at <= now() + interval '60 seconds') AS expire_in_60s
  FROM credsync.login_challenges WHERE name = 'acct-nobody';
SELECT regress_util.try($$SELECT * FROM credsync.login_challenge('')$$) AS empty_name,
       regress_util.try($$SELECT * FROM credsync.login_challenge(NULL)$$) AS null_name,
       regress_util.try($$SELECT * FROM credsync.login_challenge(E'x\x01')$$) AS control_name;

-- === login: a signature with the account's key over a fresh challenge.
SELECT regress_util.proof('acct-alice', challenge) AS msg, encode(challenge, 'hex') AS ch
  FROM credsync.login_challenge('acct-alice') \gset
\set sig `test/tools/ed25519-sign sign :seed_a :msg`
SELECT result, user_id, device IS NOT NULL AS has_device, token ~ '^cs_[0-9a-f]{64}$' AS token_shape,
       wrapped_key, retry_after
  FROM credsync.login('acct-alice', decode(:'ch', 'hex'), decode(:'sig', 'hex'), 'alice phone');
SELECT label FROM credsync.tokens WHERE user_id = 'acct-alice' ORDER BY created_at, label;
-- The challenge was used up.
SELECT count(*) AS challenge_left FROM credsync.login_challenges WHERE challenge = decode(:'ch', 'hex');
-- The token login returns is a device of the account.
SELECT challenge FROM credsync.login_challenge('acct-alice') \gset lc_
SELECT regress_util.proof('acct-alice', :'lc_challenge') AS msg \gset
\set sig2 `test/tools/ed25519-sign sign :seed_a :msg`
SELECT token AS t2, device AS d2 FROM credsync.login('acct-alice', :'lc_challenge', decode(:'sig2', 'hex')) \gset
SELECT (SELECT user_id || ' ' || (device = :'d2') FROM credsync.token_identity(sha256(convert_to(:'t2', 'UTF8')))) AS identity,
       credsync.token_user_hash(sha256(convert_to(:'t2', 'UTF8'))) AS token_user;
-- A login with no label: a device without one.
SELECT label FROM credsync.tokens WHERE device = :'d2';

-- === refused proofs: each is 'failed', the same row as a wrong password,
-- and each counts. (The counter is reset between groups here.)
-- 1. the same challenge again (single use)
SELECT result, user_id, device, token, wrapped_key, retry_after
  FROM credsync.login('acct-alice', decode(:'ch', 'hex'), decode(:'sig', 'hex'));
-- 2. a signature with the right key over another name: a challenge handed
--    out for acct-alice, the signature over (challenge, "acct-alicf")
SELECT regress_util.proof('acct-alicf', challenge) AS msg, encode(challenge, 'hex') AS ch
  FROM credsync.login_challenge('acct-alice') \gset
\set sig `test/tools/ed25519-sign sign :seed_a :msg`
SELECT result FROM credsync.login('acct-alice', decode(:'ch', 'hex'), decode(:'sig', 'hex'));
-- 3. another name's challenge: handed out for acct-bob, signed by alice
--    over (that challenge, "acct-alice"), presented as acct-alice's; bob's
--    challenge is not used up by it
SELECT regress_util.proof('acct-alice', challenge) AS msg, encode(challenge, 'hex') AS ch
  FROM credsync.login_challenge('acct-bob') \gset
\set sig `test/tools/ed25519-sign sign :seed_a :msg`
SELECT result FROM credsync.login('acct-alice', decode(:'ch', 'hex'), decode(:'sig', 'hex'));
SELECT count(*) AS bobs_challenge_kept FROM credsync.login_challenges WHERE name = 'acct-bob' AND challenge = decode(:'ch', 'hex');
-- 4. another challenge: signed over one, presented with another (which is
--    then used up: a challenge is good for one attempt)
SELECT regress_util.proof('acct-alice', challenge) AS msg FROM credsync.login_challenge('acct-alice') \gset
SELECT encode(challenge, 'hex') AS ch FROM credsync.login_challenge('acct-alice') \gset
\set sig `test/tools/ed25519-sign sign :seed_a :msg`
SELECT result FROM credsync.login('acct-alice', decode(:'ch', 'hex'), decode(:'sig', 'hex'));
SELECT count(*) AS presented_challenge_left FROM credsync.login_challenges WHERE challenge = decode(:'ch', 'hex');
SELECT (regress_util.login_rows('acct-alice')).failures AS failures_so_far;
DELETE FROM credsync.login_failures WHERE name = 'acct-alice';
-- 5. an expired challenge (its expiry moved back, as 60 s would)
SELECT regress_util.proof('acct-alice', challenge) AS msg, encode(challenge, 'hex') AS ch
  FROM credsync.login_challenge('acct-alice') \gset
\set sig `test/tools/ed25519-sign sign :seed_a :msg`
UPDATE credsync.login_challenges SET expires_at = now() - interval '1 second' WHERE challenge = decode(:'ch', 'hex');
SELECT result FROM credsync.login('acct-alice', decode(:'ch', 'hex'), decode(:'sig', 'hex'));
-- ... while the same signature over an unexpired challenge works: the expiry
-- is what refused it (the expired row stays until housekeeping removes it)
UPDATE credsync.login_challenges SET expires_at = now() + interval '1 second' WHERE challenge = decode(:'ch', 'hex');
SELECT result FROM credsync.login('acct-alice', decode(:'ch', 'hex'), decode(:'sig', 'hex'));
-- 6. another key (bob's) over alice's challenge
SELECT regress_util.proof('acct-alice', challenge) AS msg, encode(challenge, 'hex') AS ch
  FROM credsync.login_challenge('acct-alice') \gset
\set sig `test/tools/ed25519-sign sign :seed_b :msg`
SELECT result FROM credsync.login('acct-alice', decode(:'ch', 'hex'), decode(:'sig', 'hex'));
-- 7. a flipped bit of a good signature
SELECT regress_util.proof('acct-alice', challenge) AS msg, encode(challenge, 'hex') AS ch
  FROM credsync.login_challenge('acct-alice') \gset
\set sig `test/tools/ed25519-sign sign :seed_a :msg`
SELECT result FROM credsync.login('acct-alice', decode(:'ch', 'hex'),
    set_byte(decode(:'sig', 'hex'), 10, get_byte(decode(:'sig', 'hex'), 10) # 1));
-- 8. an unknown name, with a challenge handed out for it: the same row
SELECT regress_util.proof('acct-nobody', challenge) AS msg, encode(challenge, 'hex') AS ch
  FROM credsync.login_challenge('acct-nobody') \gset
\set sig `test/tools/ed25519-sign sign :seed_a :msg`
SELECT result, user_id, device, token, wrapped_key, retry_after
  FROM credsync.login('acct-nobody', decode(:'ch', 'hex'), decode(:'sig', 'hex'));
SELECT who, (regress_util.login_rows(who)).failures FROM unnest(ARRAY['acct-alice', 'acct-nobody']) who;
-- No refused login made a device.
SELECT count(*) AS alice_devices FROM credsync.tokens WHERE user_id = 'acct-alice';
DELETE FROM credsync.login_failures;

-- Bad shapes are CS400 and change nothing: no failure counted, the
-- challenge not used up.
SELECT regress_util.proof('acct-alice', challenge) AS msg, encode(challenge, 'hex') AS ch
  FROM credsync.login_challenge('acct-alice') \gset
\set sig `test/tools/ed25519-sign sign :seed_a :msg`
SELECT regress_util.try(format('SELECT * FROM credsync.login(%L, %L, %L, %L)', t.name, t.challenge, t.signature, t.label)) AS outcome, t.what
  FROM (VALUES
    ('challenge 31 bytes', 'acct-alice', substr(decode(:'ch', 'hex'), 2), decode(:'sig', 'hex'), NULL::text),
    ('challenge 33 bytes', 'acct-alice', decode(:'ch', 'hex') || '\x00'::bytea, decode(:'sig', 'hex'), NULL),
    ('NULL challenge',     'acct-alice', NULL, decode(:'sig', 'hex'), NULL),
    ('signature 63 bytes', 'acct-alice', decode(:'ch', 'hex'), substr(decode(:'sig', 'hex'), 2), NULL),
    ('NULL signature',     'acct-alice', decode(:'ch', 'hex'), NULL, NULL),
    ('bad name',           E'acct-alice\n', decode(:'ch', 'hex'), decode(:'sig', 'hex'), NULL),
    ('label with newline', 'acct-alice', decode(:'ch', 'hex'), decode(:'sig', 'hex'), E'a\nb'),
    ('label 201 bytes',    'acct-alice', decode(:'ch', 'hex'), decode(:'sig', 'hex'), repeat('x', 201))
  ) AS t(what, name, challenge, signature, label);
SELECT (regress_util.login_rows('acct-alice')).failures AS failures_after_bad_shapes,
       (SELECT count(*) FROM credsync.login_challenges WHERE challenge = decode(:'ch', 'hex')) AS challenge_kept;
SELECT result FROM credsync.login('acct-alice', decode(:'ch', 'hex'), decode(:'sig', 'hex'));

-- === the rate limit: 5 failures per name in 10 minutes.
CREATE FUNCTION regress_util.fail_login(who text) RETURNS text LANGUAGE sql
    AS $$ SELECT result || coalesce(' ' || (retry_after BETWEEN 1 AND 600)::text, '')
            FROM credsync.login(who, (SELECT challenge FROM credsync.login_challenge(who)), decode(repeat('00', 64), 'hex')) $$;
SELECT i, regress_util.fail_login('acct-alice') AS alice FROM generate_series(1, 6) i;
-- Locked: even the right signature gets too_many_attempts, which uses up
-- nothing (the challenge stays) and counts nothing.
SELECT regress_util.proof('acct-alice', challenge) AS msg, encode(challenge, 'hex') AS ch
  FROM credsync.login_challenge('acct-alice') \gset
\set sig `test/tools/ed25519-sign sign :seed_a :msg`
SELECT result, user_id, device, token, wrapped_key, retry_after BETWEEN 1 AND 600 AS retry_after_in_window
  FROM credsync.login('acct-alice', decode(:'ch', 'hex'), decode(:'sig', 'hex'));
SELECT (regress_util.login_rows('acct-alice')).failures,
       (SELECT count(*) FROM credsync.login_challenges WHERE challenge = decode(:'ch', 'hex')) AS challenge_kept;
-- retry_after is the time left in the window (from its first failure).
UPDATE credsync.login_failures SET window_start = now() - interval '9 minutes 30 seconds' WHERE name = 'acct-alice';
-- (30 s, less the time between these statements)
SELECT result, retry_after BETWEEN 25 AND 30 AS retry_after_about_30
  FROM credsync.login('acct-alice', decode(:'ch', 'hex'), decode(:'sig', 'hex'));
-- Another name is not affected: bob logs in.
SELECT regress_util.proof('acct-bob', challenge) AS msg, encode(challenge, 'hex') AS bch
  FROM credsync.login_challenge('acct-bob') \gset
\set bsig `test/tools/ed25519-sign sign :seed_b :msg`
SELECT result, user_id, wrapped_key FROM credsync.login('acct-bob', decode(:'bch', 'hex'), decode(:'bsig', 'hex'));
-- ... and bob's success does not reset alice's counter.
SELECT (regress_util.login_rows('acct-alice')).failures AS alice_failures;
-- Unknown names are limited the same way.
SELECT i, regress_util.fail_login('acct-nobody') AS nobody FROM generate_series(1, 6) i;
-- Once the window has passed, the right signature logs in and clears the
-- counter.
UPDATE credsync.login_failures SET window_start = now() - interval '10 minutes 1 second' WHERE name = 'acct-alice';
SELECT result, user_id FROM credsync.login('acct-alice', decode(:'ch', 'hex'), decode(:'sig', 'hex'));
SELECT (regress_util.login_rows('acct-alice')).failures AS alice_failures_after_login;
-- A passed window starts again from its next failure.
UPDATE credsync.login_failures SET window_start = now() - interval '10 minutes 1 second' WHERE name = 'acct-nobody';
SELECT regress_util.fail_login('acct-nobody') AS nobody_again;
SELECT failures, window_start > now() - interval '1 minute' AS window_restarted FROM credsync.login_failures WHERE name = 'acct-nobody';

-- Housekeeping: a challenge removes its own name's expired challenges and
-- its counter if the window has passed, no other name's (on Citus a sweep
-- of all names would be a multi-shard locking query); compact() removes
-- every name's.
UPDATE credsync.login_challenges SET expires_at = now() - interval '1 second' WHERE name = 'acct-nobody';
UPDATE credsync.login_failures SET window_start = now() - interval '11 minutes' WHERE name = 'acct-nobody';
INSERT INTO credsync.login_challenges (name, challenge, expires_at)
    VALUES ('acct-someone', decode(repeat('5e', 32), 'hex'), now() - interval '1 second');
INSERT INTO credsync.login_failures (name, failures, window_start) VALUES ('acct-someone', 2, now() - interval '11 minutes');
SELECT count(*) FILTER (WHERE name = 'acct-nobody') > 0 AS nobody_expired_before,
       count(*) FILTER (WHERE name = 'acct-someone') AS someone_expired_before
  FROM credsync.login_challenges WHERE expires_at <= now();
SELECT length(challenge) FROM credsync.login_challenge('acct-someone');
SELECT count(*) FILTER (WHERE name = 'acct-nobody') > 0 AS nobody_expired_kept,
       count(*) FILTER (WHERE name = 'acct-someone') AS someone_expired_after
  FROM credsync.login_challenges WHERE expires_at <= now();
SELECT count(*) AS someone_passed_window_after, (SELECT count(*) FROM credsync.login_failures WHERE name = 'acct-nobody') AS nobody_passed_window_kept
  FROM credsync.login_failures WHERE name = 'acct-someone';
SELECT credsync.compact('30 days') AS compact_counts_tombstones_only;
SELECT count(*) AS expired_after_compact FROM credsync.login_challenges WHERE expires_at <= now();
SELECT count(*) AS passed_windows_after_compact FROM credsync.login_failures
 WHERE window_start <= now() - interval '10 minutes';

-- VOLATILE (they write), SECURITY DEFINER, pinned search_path, not for
-- PUBLIC, app functions.
SELECT p.proname, p.provolatile, p.prosecdef, p.proconfig,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute,
       p.oid::regprocedure = ANY (credsync.app_functions()) AS app_function
  FROM pg_proc p WHERE p.oid IN ('credsync.account_create(text,bytea,bytea,bigint,bigint,bytea,text)'::regprocedure,
                                 'credsync.login_challenge(text)'::regprocedure,
                                 'credsync.login(text,bytea,bytea,text)'::regprocedure)
 ORDER BY 1;
-- An app role can sign up and log in, and read no table.
CREATE ROLE regress_login_app LOGIN;  -- LOGIN: on Citus the coordinator connects to the workers as it
SELECT credsync.grant_app('regress_login_app');
SET ROLE regress_login_app;
SELECT regress_util.proof('acct-bob', challenge) AS msg, encode(challenge, 'hex') AS bch
  FROM credsync.login_challenge('acct-bob') \gset
\set bsig `test/tools/ed25519-sign sign :seed_b :msg`
SELECT result, user_id FROM credsync.login('acct-bob', decode(:'bch', 'hex'), decode(:'bsig', 'hex'));
SELECT regress_util.try($$SELECT * FROM credsync.accounts$$) AS accounts,
       regress_util.try($$SELECT * FROM credsync.login_challenges$$) AS challenges,
       regress_util.try($$SELECT * FROM credsync.login_failures$$) AS failures;
RESET ROLE;
DROP OWNED BY regress_login_app;
DROP ROLE regress_login_app;
