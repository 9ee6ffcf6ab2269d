-- Tokens: shown once, stored only as SHA-256, revocable.
SELECT credsync.issue_token('henry', 'laptop') AS token \gset
SELECT :'token' ~ '^cs_[0-9a-f]{64}$' AS well_formed;
SELECT credsync.token_user(:'token');
-- Only the hash is stored, never the token.
SELECT count(*) AS stored_plain FROM credsync.tokens WHERE position(convert_to(:'token', 'UTF8') IN token_sha256) > 0;
SELECT token_sha256 = sha256(convert_to(:'token', 'UTF8')) AS stored_hash, label
  FROM credsync.tokens WHERE user_id = 'henry';
SELECT credsync.token_user('cs_' || repeat('0', 64)) AS unknown;
SELECT credsync.token_user(NULL) AS null_token;
SELECT credsync.token_user('') AS empty_token;
-- Two tokens for one user are independent.
SELECT credsync.issue_token('henry') AS token2 \gset
SELECT :'token' <> :'token2' AS distinct_tokens;
SELECT credsync.revoke_token(:'token');
SELECT credsync.revoke_token(:'token') AS again;
SELECT credsync.revoke_token('nonsense') AS unknown;
SELECT credsync.token_user(:'token') AS revoked;
SELECT credsync.token_user(:'token2') AS still_live;

-- drop_user removes all of a user's zones, records, tokens, ops and quota.
SELECT gencount FROM credsync.sync_push('henry', 'default', '\x01', NULL, NULL, '88888888-8888-4888-8888-888888888888');
SELECT gencount FROM credsync.sync_push('henry', 'other', '\x01');
SELECT credsync.set_quota('henry', 100, 100);
SELECT credsync.drop_user('henry');
SELECT credsync.token_user(:'token2') AS dropped;
SELECT * FROM credsync.sync_zones('henry');
SELECT * FROM credsync.sync_account('henry');
SELECT (SELECT count(*) FROM credsync.records WHERE user_id = 'henry')
     + (SELECT count(*) FROM credsync.ops WHERE user_id = 'henry')
     + (SELECT count(*) FROM credsync.quotas WHERE user_id = 'henry') AS leftovers;
SELECT credsync.drop_user('henry') AS again;
-- Nobody else was touched.
SELECT gencount FROM credsync.sync_state('alice', 'default');

-- notify_key: stable per (user, zone), distinct across users and zones, and
-- not a plain hash of the user id.
SELECT credsync.notify_key('alice', 'default') ~ '^[0-9a-f]{32}$' AS well_formed,
       credsync.notify_key('alice', 'default') = credsync.notify_key('alice', 'default') AS stable,
       credsync.notify_key('alice', 'default') <> credsync.notify_key('bob', 'default') AS per_user,
       credsync.notify_key('alice', 'default') <> credsync.notify_key('alice', 'notes') AS per_zone,
       credsync.notify_key('a', 'bdefault') <> credsync.notify_key('ab', 'default') AS unambiguous,
       position(credsync.notify_key('alice', 'default') IN encode(sha256('alice'::bytea), 'hex')) = 0
         AND position(credsync.notify_key('alice', 'default') IN encode(sha256('alicedefault'::bytea), 'hex')) = 0
         AS not_plain_hash;
-- The key is HMAC-SHA-256(installation secret, user_id || 0x00 || zone), first
-- 16 bytes in hex: checked against pgcrypto's independent hmac().
CREATE EXTENSION pgcrypto;
SELECT credsync.notify_key(u, z) = left(encode(hmac(convert_to(u, 'UTF8') || '\x00'::bytea || convert_to(z, 'UTF8'),
                                                    secret, 'sha256'), 'hex'), 32) AS matches_hmac
  FROM credsync.install_secret, (VALUES ('alice', 'default'), ('bob', 'a.b-c'), (repeat('ü', 128), 'z')) AS v(u, z);
DROP EXTENSION pgcrypto;
