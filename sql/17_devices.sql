-- Devices (1.4, issues 11 and 16): every token is a device. token_identity,
-- device_list, device_revoke, account_set_login, and (admin) token_list,
-- token_revoke_all. Keys and signatures as in 16_accounts.
\pset null '(null)'
\set seed_c c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3
\set seed_n d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4
\set pub_c `test/tools/ed25519-sign public :seed_c`
\set pub_n `test/tools/ed25519-sign public :seed_n`

-- carol: an account with three devices (signup, two logins); dave: a user
-- with tokens only (issue_token, as /v1/register makes them).
SELECT token AS c1, device AS c1_id FROM credsync.account_create('dev-carol', decode(:'pub_c', 'hex'),
    '\xc0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0', 3, 268435456, '\xc0ffee', 'carol laptop') \gset
SELECT regress_util.proof('dev-carol', challenge) AS msg, challenge AS ch FROM credsync.login_challenge('dev-carol') \gset
\set sig `test/tools/ed25519-sign sign :seed_c :msg`
SELECT token AS c2, device AS c2_id FROM credsync.login('dev-carol', :'ch', decode(:'sig', 'hex'), 'carol phone') \gset
SELECT regress_util.proof('dev-carol', challenge) AS msg, challenge AS ch FROM credsync.login_challenge('dev-carol') \gset
\set sig `test/tools/ed25519-sign sign :seed_c :msg`
SELECT token AS c3, device AS c3_id FROM credsync.login('dev-carol', :'ch', decode(:'sig', 'hex'), 'carol tablet') \gset
SELECT credsync.issue_token('dev-dave', 'dave cli') AS d1 \gset
SELECT credsync.issue_token('dev-dave') AS d2 \gset
SELECT device AS d1_id FROM credsync.token_identity(sha256(convert_to(:'d1', 'UTF8'))) \gset

-- === device_list: a user's live devices, oldest first; never another's.
SELECT label, id = ANY (ARRAY[:'c1_id', :'c2_id', :'c3_id']::uuid[]) AS carols, created IS NOT NULL AS has_created
  FROM credsync.device_list('dev-carol');
SELECT label, id = :'d1_id' AS is_d1 FROM credsync.device_list('dev-dave');
SELECT count(*) AS nobody FROM credsync.device_list('dev-nobody');
-- Every token is a device, also one issued before 1.4 (61-upgrade checks
-- the update gives old tokens their ids): ids are distinct.
SELECT count(DISTINCT device) = count(*) AS distinct_ids FROM credsync.tokens;

-- === token_identity: the user and the device of a live token, by the
-- token's SHA-256.
SELECT user_id, device = :'c2_id' AS is_c2 FROM credsync.token_identity(sha256(convert_to(:'c2', 'UTF8')));
SELECT user_id, device = :'d1_id' AS is_d1 FROM credsync.token_identity(sha256(convert_to(:'d1', 'UTF8')));
SELECT count(*) AS unknown FROM credsync.token_identity(sha256(convert_to('cs_' || repeat('0', 64), 'UTF8')));
SELECT count(*) AS null_hash FROM credsync.token_identity(NULL);
SELECT regress_util.try($$SELECT * FROM credsync.token_identity('\x00')$$) AS short_hash,
       regress_util.try(format('SELECT * FROM credsync.token_identity(%L::bytea)', encode(sha256('x'), 'hex'))) AS hex_text;
-- last_seen: written by the first use, then at most once a minute.
SELECT last_seen IS NOT NULL AS c2_seen, (SELECT last_seen FROM credsync.device_list('dev-carol') WHERE id = :'c3_id') AS c3_seen
  FROM credsync.device_list('dev-carol') WHERE id = :'c2_id';
UPDATE credsync.tokens SET last_seen = now() - interval '30 seconds' WHERE device = :'c2_id' RETURNING last_seen AS ls \gset
SELECT count(*) FROM credsync.token_identity(sha256(convert_to(:'c2', 'UTF8')));
SELECT last_seen = :'ls' AS unchanged_within_a_minute FROM credsync.tokens WHERE device = :'c2_id';
UPDATE credsync.tokens SET last_seen = now() - interval '61 seconds' WHERE device = :'c2_id';
SELECT count(*) FROM credsync.token_identity(sha256(convert_to(:'c2', 'UTF8')));
SELECT last_seen > now() - interval '1 minute' AS written_after_a_minute FROM credsync.tokens WHERE device = :'c2_id';
-- A read-only transaction (a standby) resolves the token and writes nothing.
UPDATE credsync.tokens SET last_seen = now() - interval '1 hour' WHERE device = :'c2_id' RETURNING last_seen AS ls \gset
BEGIN READ ONLY;
SELECT user_id FROM credsync.token_identity(sha256(convert_to(:'c2', 'UTF8')));
COMMIT;
SELECT last_seen = :'ls' AS not_written_read_only FROM credsync.tokens WHERE device = :'c2_id';
-- (A transaction that holds the row is not waited for: isolation spec
-- token-identity-nowait.)

-- === device_revoke: only the user's own live device.
SELECT credsync.device_revoke('dev-dave', :'c3_id') AS dave_revokes_carols,
       credsync.device_revoke('dev-carol', :'d1_id') AS carol_revokes_daves,
       credsync.device_revoke('dev-carol', '00000000-0000-4000-8000-000000000000') AS unknown_id;
SELECT count(*) AS carol_live FROM credsync.device_list('dev-carol');
SELECT count(*) AS dave_live FROM credsync.device_list('dev-dave');
SELECT credsync.device_revoke('dev-carol', :'c3_id') AS revoked, credsync.device_revoke('dev-carol', :'c3_id') AS again;
-- A revoked device's token resolves to nothing, by every lookup.
SELECT credsync.token_user_hash(sha256(convert_to(:'c3', 'UTF8'))) AS by_hash, credsync.token_user(:'c3') AS by_token,
       (SELECT count(*) FROM credsync.token_identity(sha256(convert_to(:'c3', 'UTF8')))) AS identities;
SELECT label FROM credsync.device_list('dev-carol');
SELECT regress_util.try($$SELECT credsync.device_revoke('dev-carol', NULL)$$) AS null_device,
       regress_util.try($$SELECT credsync.device_revoke('', '00000000-0000-4000-8000-000000000000')$$) AS bad_user;

-- === account_set_login: a new password in one transaction; optionally
-- every other device logged out.
SELECT regress_util.proof('dev-carol', challenge) AS msg, challenge AS ch FROM credsync.login_challenge('dev-carol') \gset
\set sig `test/tools/ed25519-sign sign :seed_c :msg`
SELECT token AS c4, device AS c4_id FROM credsync.login('dev-carol', :'ch', decode(:'sig', 'hex'), 'carol desktop') \gset
SELECT count(*) AS carol_live FROM credsync.device_list('dev-carol');
-- Without logout_others: nothing is revoked.
SELECT credsync.account_set_login('dev-carol', decode(:'pub_c', 'hex'), '\xc1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1', 4, 1073741824,
                                  '\xc0ffee01', false, NULL) AS revoked;
SELECT salt, kdf_ops, kdf_mem FROM credsync.login_challenge('dev-carol');
-- With logout_others, keeping the device that asked (c2): c1 and c4 go.
SELECT credsync.account_set_login('dev-carol', decode(:'pub_n', 'hex'), '\xc2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2', 3, 268435456,
                                  '\xc0ffee02', true, :'c2_id') AS revoked;
SELECT label, id = :'c2_id' AS kept FROM credsync.device_list('dev-carol');
SELECT t.name, credsync.token_user_hash(sha256(convert_to(t.token, 'UTF8'))) AS resolves
  FROM (VALUES ('c1', :'c1'), ('c2', :'c2'), ('c3', :'c3'), ('c4', :'c4')) AS t(name, token);
-- dave's tokens were not touched.
SELECT count(*) AS dave_live FROM credsync.device_list('dev-dave');
-- The new login works, the old one no longer does.
SELECT salt, kdf_ops, kdf_mem FROM credsync.login_challenge('dev-carol');
SELECT regress_util.proof('dev-carol', challenge) AS msg, challenge AS ch FROM credsync.login_challenge('dev-carol') \gset
\set sig `test/tools/ed25519-sign sign :seed_c :msg`
SELECT result FROM credsync.login('dev-carol', :'ch', decode(:'sig', 'hex'));
SELECT regress_util.proof('dev-carol', challenge) AS msg, challenge AS ch FROM credsync.login_challenge('dev-carol') \gset
\set sig `test/tools/ed25519-sign sign :seed_n :msg`
SELECT result, wrapped_key FROM credsync.login('dev-carol', :'ch', decode(:'sig', 'hex'), 'carol new phone');
-- logout_others with keep_device NULL logs out every device.
SELECT credsync.account_set_login('dev-carol', decode(:'pub_n', 'hex'), '\xc2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2', 3, 268435456,
                                  '\xc0ffee02', true, NULL) AS revoked;
SELECT count(*) AS carol_live FROM credsync.device_list('dev-carol');
-- A user without an account (tokens only) cannot get a login this way, and
-- bad input changes nothing.
SELECT regress_util.try(format($$SELECT credsync.account_set_login('dev-dave', %L, '\xd0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0',
    3, 268435456, '\x01', true, NULL)$$, decode(:'pub_n', 'hex'))) AS token_only_user;
SELECT count(*) AS dave_live FROM credsync.device_list('dev-dave');
SELECT regress_util.try(format($$SELECT credsync.account_set_login('dev-carol', %L, %L, %s, %s, %L, %s, NULL)$$,
           t.login_key, t.salt, t.ops, t.mem, t.wrapped, t.logout)) AS outcome, t.what
  FROM (VALUES
    ('key 31 bytes', substr(decode(:'pub_c', 'hex'), 2), '\xc3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3'::bytea, '3', '268435456', '\x01'::bytea, 'false'),
    ('salt 8 bytes', decode(:'pub_c', 'hex'), '\xc3c3c3c3c3c3c3c3', '3', '268435456', '\x01', 'false'),
    ('ops 99', decode(:'pub_c', 'hex'), '\xc3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3', '99', '268435456', '\x01', 'false'),
    ('mem 1 KiB', decode(:'pub_c', 'hex'), '\xc3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3', '3', '1024', '\x01', 'false'),
    ('wrapped empty', decode(:'pub_c', 'hex'), '\xc3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3', '3', '268435456', '\x', 'false'),
    ('NULL logout_others', decode(:'pub_c', 'hex'), '\xc3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3', '3', '268435456', '\x01', 'NULL')
  ) AS t(what, login_key, salt, ops, mem, wrapped, logout);
SELECT salt, kdf_ops, kdf_mem FROM credsync.login_challenge('dev-carol');

-- === admin: token_list shows every token of a user, revoked ones too;
-- token_revoke_all revokes by user, and by label.
-- (one token per transaction: the list is ordered by creation)
SELECT credsync.issue_token('dev-erin', 'demo') IS NOT NULL AS issued;
SELECT credsync.issue_token('dev-erin') IS NOT NULL AS issued;
SELECT credsync.issue_token('dev-erin', 'laptop') IS NOT NULL AS issued;
SELECT credsync.issue_token('dev-erin', 'demo') IS NOT NULL AS issued;
SELECT credsync.issue_token('dev-frank', 'demo') AS f1 \gset
SELECT label, created IS NOT NULL AS has_created, last_seen, revoked FROM credsync.token_list('dev-erin');
SELECT credsync.token_revoke_all('dev-erin', 'demo') AS demo_revoked, credsync.token_revoke_all('dev-erin', 'demo') AS again;
SELECT label, revoked IS NOT NULL AS revoked FROM credsync.token_list('dev-erin');
SELECT credsync.token_user(:'f1') AS other_users_demo_token;
SELECT credsync.token_revoke_all('dev-erin') AS rest_revoked;
SELECT count(*) FILTER (WHERE revoked IS NULL) AS live, count(*) AS listed FROM credsync.token_list('dev-erin');
SELECT label, revoked IS NOT NULL AS revoked FROM credsync.token_list('dev-carol');
SELECT regress_util.try($$SELECT credsync.token_revoke_all('')$$) AS bad_user,
       regress_util.try($$SELECT * FROM credsync.token_list(NULL)$$) AS null_user;

-- Volatility, SECURITY DEFINER, pinned search_path, not for PUBLIC; which
-- are app functions (token_list, token_revoke_all are admin).
SELECT p.proname, p.provolatile, p.prosecdef, p.proconfig,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute,
       p.oid::regprocedure = ANY (credsync.app_functions()) AS app_function
  FROM pg_proc p
 WHERE p.pronamespace = 'credsync'::regnamespace
   AND p.proname IN ('token_identity', 'device_list', 'device_revoke', 'account_set_login', 'token_list', 'token_revoke_all')
 ORDER BY 1;
-- An app role manages devices; the admin functions are refused to it.
CREATE ROLE regress_device_app LOGIN;  -- LOGIN: on Citus the coordinator connects to the workers as it
SELECT credsync.grant_app('regress_device_app');
SET ROLE regress_device_app;
SELECT label FROM credsync.device_list('dev-dave');
SELECT user_id FROM credsync.token_identity(sha256(convert_to(:'d2', 'UTF8')));
SELECT regress_util.try($$SELECT * FROM credsync.token_list('dev-dave')$$) AS token_list,
       regress_util.try($$SELECT credsync.token_revoke_all('dev-dave')$$) AS token_revoke_all,
       regress_util.try($$SELECT * FROM credsync.tokens$$) AS tokens_table;
RESET ROLE;
DROP OWNED BY regress_device_app;
DROP ROLE regress_device_app;
