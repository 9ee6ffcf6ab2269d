-- Safe to install: no PUBLIC privileges on tables or functions, pinned
-- search_path and SECURITY DEFINER on every function, config dump on every
-- data table. The one procedure, compact_batched, commits, so it can have
-- neither (PostgreSQL refuses COMMIT there); it switches to its owner and
-- that search_path itself for each batch (14_compact_batched).
SELECT c.relname, c.relacl
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'credsync' AND c.relkind = 'r' ORDER BY 1;
SELECT p.proname,
       p.prosecdef AS security_definer,
       p.proconfig AS config,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'credsync' ORDER BY 1;
SELECT unnest(extconfig)::regclass AS dumped FROM pg_extension WHERE extname = 'credsync' ORDER BY 1;
-- user_id leads every primary key and unique index.
SELECT indexrelid::regclass AS index, indisunique, indisprimary,
       (SELECT attname FROM pg_attribute WHERE attrelid = indrelid AND attnum = indkey[0]) AS leading
  FROM pg_index WHERE indrelid::regclass::text LIKE 'credsync.%' AND (indisunique OR indisprimary)
 ORDER BY 1::text;
-- No triggers.
SELECT count(*) AS triggers FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'credsync';

-- A role with no grants can read no table and call no function.
CREATE ROLE regress_nobody LOGIN;  -- LOGIN: on Citus the coordinator connects to the workers as it
SET ROLE regress_nobody;
SELECT regress_util.try($$SELECT * FROM credsync.records$$);
SELECT regress_util.try($$SELECT * FROM credsync.sync_pull('alice', 'default')$$);
SELECT regress_util.try($$SELECT credsync.token_user('x')$$);
RESET ROLE;
-- grant_app: the app functions only; tables stay closed.
CREATE ROLE regress_app LOGIN;  -- LOGIN: on Citus the coordinator connects to the workers as it
SELECT credsync.grant_app('regress_app');
SET ROLE regress_app;
SELECT gencount FROM credsync.sync_push('ivan', 'default', '\x01');
SELECT gencount FROM credsync.sync_pull('ivan', 'default');
SELECT regress_util.try($$SELECT * FROM credsync.records$$);
SELECT regress_util.try($$SELECT * FROM credsync.zones$$);
SELECT regress_util.try($$SELECT credsync.issue_token('ivan')$$);
SELECT regress_util.try($$SELECT credsync.revoke_token('x')$$);
SELECT regress_util.try($$SELECT credsync.set_quota('ivan', 1, 1)$$);
SELECT regress_util.try($$SELECT credsync.compact()$$);
SELECT regress_util.try($$SELECT credsync.drop_user('alice')$$);
SELECT regress_util.try($$SELECT credsync.grant_app('regress_nobody')$$);
SELECT regress_util.try($$SELECT credsync.grant_proxy('regress_nobody')$$);
-- An app role cannot raise its own limits.
SELECT regress_util.try($$SET credsync.max_blob_bytes = 100000000$$);
RESET ROLE;
-- grant_proxy: the app functions plus issue_token.
CREATE ROLE regress_proxy LOGIN;  -- LOGIN: on Citus the coordinator connects to the workers as it
SELECT credsync.grant_proxy('regress_proxy');
SET ROLE regress_proxy;
SELECT credsync.issue_token('ivan') IS NOT NULL AS issued;
SELECT regress_util.try($$SELECT credsync.revoke_token('x')$$);
SELECT regress_util.try($$SELECT credsync.drop_user('ivan')$$);
RESET ROLE;
-- grant_app refuses PUBLIC and unknown roles.
SELECT regress_util.try($$SELECT credsync.grant_app('public')$$);
SELECT regress_util.try($$SELECT credsync.grant_app('regress_no_such_role')$$);
SELECT regress_util.try($$SELECT credsync.grant_app(NULL)$$);
-- A hostile search_path cannot redirect the functions' SQL.
CREATE SCHEMA regress_evil;
CREATE TABLE regress_evil.zones (user_id text, zone text, gencount bigint);
SET search_path = regress_evil, public;
SELECT gencount FROM credsync.sync_push('ivan', 'default', '\x02');
RESET search_path;
SELECT count(*) AS untouched FROM regress_evil.zones;
DROP SCHEMA regress_evil CASCADE;
SELECT credsync.drop_user('ivan') > 0 AS dropped;
DROP OWNED BY regress_nobody, regress_app, regress_proxy;
DROP ROLE regress_nobody, regress_app, regress_proxy;
