-- token_user_hash (1.3): the user of a token looked up by the token's
-- SHA-256, so that the token itself never reaches the server (a bind
-- parameter can be recorded by statement logging). The proxy calls
-- SELECT credsync.token_user_hash($1) with the 32 raw digest bytes.
\pset null '(null)'
SELECT credsync.issue_token('hasher', 'phone') AS token \gset
SELECT credsync.token_user_hash(sha256(convert_to(:'token', 'UTF8'))) AS by_hash,
       credsync.token_user(:'token') AS by_token;
-- The digest must be of the whole token text, exactly as stored.
SELECT credsync.token_user_hash(sha256(convert_to(upper(:'token'), 'UTF8'))) AS other_text;
SELECT credsync.token_user_hash(sha256(convert_to('cs_' || repeat('0', 64), 'UTF8'))) AS unknown;
SELECT credsync.token_user_hash(NULL) AS null_hash;
-- Anything but 32 bytes is CS400 naming the argument.
SELECT regress_util.try($$SELECT credsync.token_user_hash('\x')$$);
SELECT regress_util.try($$SELECT credsync.token_user_hash('\x00')$$);
SELECT regress_util.try($$SELECT credsync.token_user_hash(sha224('x'::bytea))$$);
SELECT regress_util.try($$SELECT credsync.token_user_hash(sha256('x'::bytea) || '\x00'::bytea)$$);
-- The hex text of the digest is not the digest.
SELECT regress_util.try(format($$SELECT credsync.token_user_hash(%L::bytea)$$,
    encode(sha256(convert_to(:'token', 'UTF8')), 'hex')));
-- Revoked: NULL, like token_user.
SELECT credsync.revoke_token(:'token');
SELECT credsync.token_user_hash(sha256(convert_to(:'token', 'UTF8'))) AS revoked;
-- A digest read from a column (a short-header value) reads the same.
SELECT credsync.issue_token('hasher') AS token2 \gset
SELECT credsync.token_user_hash(h) AS from_column
  FROM (SELECT sha256(convert_to(:'token2', 'UTF8')) AS h) t;
-- STABLE, SECURITY DEFINER, pinned search_path, not for PUBLIC, an app function.
SELECT p.provolatile, p.prosecdef, p.proconfig, p.proisstrict,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute,
       p.oid::regprocedure = ANY (credsync.app_functions()) AS app_function
  FROM pg_proc p WHERE p.oid = 'credsync.token_user_hash(bytea)'::regprocedure;
-- grant_app grants it; the app role gets answers, nothing else changes.
CREATE ROLE regress_hash_app;
SELECT credsync.grant_app('regress_hash_app');
SET ROLE regress_hash_app;
SELECT credsync.token_user_hash(sha256(convert_to(:'token2', 'UTF8'))) AS as_app;
SELECT regress_util.try($$SELECT * FROM credsync.tokens$$);
RESET ROLE;
DROP OWNED BY regress_hash_app;
DROP ROLE regress_hash_app;
SELECT credsync.drop_user('hasher') > 0 AS dropped;
SELECT credsync.token_user_hash(sha256(convert_to(:'token2', 'UTF8'))) AS after_drop;
