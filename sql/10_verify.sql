-- verify_zone (1.1): the incrementally maintained aggregates equal a recount.
SELECT u, z, v.matches, v.items = s.items AS items_equal, v.digest = s.digest AS digest_equal
  FROM (VALUES ('alice', 'default'), ('carol', 'default'), ('dave', 'default'), ('erin', 'b'),
               ('frank', 'default'), ('gina', 'many'), ('nobody', 'default')) AS t(u, z),
       LATERAL credsync.verify_zone(u, z) v, LATERAL credsync.sync_state(u, z) s
 ORDER BY 1, 2;
-- It notices a zone whose stored aggregates were damaged.
BEGIN;
UPDATE credsync.zones SET items = items + 1 WHERE user_id = 'carol' AND zone = 'default';
SELECT matches FROM credsync.verify_zone('carol', 'default');
ROLLBACK;
BEGIN;
UPDATE credsync.zones SET digest = sha256('\x00') WHERE user_id = 'carol' AND zone = 'default';
SELECT matches FROM credsync.verify_zone('carol', 'default');
ROLLBACK;
BEGIN;
UPDATE credsync.zones SET gencount = 1 WHERE user_id = 'carol' AND zone = 'default';
SELECT matches FROM credsync.verify_zone('carol', 'default');
ROLLBACK;
-- An administrator's function: not for PUBLIC, not in grant_app.
SELECT has_function_privilege('public', 'credsync.verify_zone(text, text)', 'EXECUTE') AS public_execute,
       'credsync.verify_zone(text,text)'::regprocedure = ANY (credsync.app_functions()) AS app_function;
SELECT regress_util.try($$SELECT credsync.verify_zone('alice', 'bad zone')$$);
