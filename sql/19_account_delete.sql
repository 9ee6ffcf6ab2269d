-- account_delete (1.4, issue 16): a user erases their account and all of
-- their data. With an account, only with a fresh login proof (the signed
-- challenge of a login, under the same rate limit); a user with tokens only
-- needs none. drop_user (1.4) removes the account too. The race with a
-- concurrent push and login: isolation spec account-delete-race.
\pset null '(null)'
\set seed_g e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5
\set seed_x f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6
\set pub_g `test/tools/ed25519-sign public :seed_g`
-- Everything of a user, table by table.
CREATE FUNCTION regress_util.user_rows(who text)
    RETURNS TABLE(zones bigint, records bigint, ops bigint, tokens bigint, quotas bigint, accounts bigint,
                  challenges bigint, failures bigint) LANGUAGE plpgsql
    -- (PL/pgSQL: Citus cannot plan a SQL function's parameters.)
    AS $$ #variable_conflict use_column
    BEGIN RETURN QUERY
          SELECT (SELECT count(*) FROM credsync.zones WHERE user_id = who),
                 (SELECT count(*) FROM credsync.records WHERE user_id = who),
                 (SELECT count(*) FROM credsync.ops WHERE user_id = who),
                 (SELECT count(*) FROM credsync.tokens WHERE user_id = who),
                 (SELECT count(*) FROM credsync.quotas WHERE user_id = who),
                 (SELECT count(*) FROM credsync.accounts WHERE name = who),
                 (SELECT count(*) FROM credsync.login_challenges WHERE name = who),
                 (SELECT count(*) FROM credsync.login_failures WHERE name = who); END $$;

-- gina: an account with two zones (an op id, a tombstone, a deleted zone),
-- two devices, a quota, an open challenge. hank: tokens only. ivy: another
-- account, untouched by all this.
SELECT token AS g1 FROM credsync.account_create('del-gina', decode(:'pub_g', 'hex'), '\xe0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0',
    3, 268435456, '\xe0', 'gina laptop') \gset
SELECT count(*) FROM credsync.sync_push_many('del-gina', 'a', ARRAY[NULL, NULL]::uuid[], ARRAY['\x01', '\x02']::bytea[],
    NULL, '00000000-0000-4000-8000-00000000d001');
SELECT item AS gina_item FROM credsync.sync_push('del-gina', 'a', '\x03') \gset
SELECT credsync.sync_delete('del-gina', 'a', :'gina_item');
SELECT gencount FROM credsync.sync_push('del-gina', 'b', '\x04');
SELECT gencount FROM credsync.sync_push('del-gina', 'gone', '\x05');
SELECT credsync.zone_delete('del-gina', 'gone');
SELECT credsync.set_quota('del-gina', 1000, 10);
SELECT regress_util.proof('del-gina', challenge) AS msg, challenge AS ch FROM credsync.login_challenge('del-gina') \gset
\set sig `test/tools/ed25519-sign sign :seed_g :msg`
SELECT token AS g2 FROM credsync.login('del-gina', :'ch', decode(:'sig', 'hex'), 'gina phone') \gset
SELECT credsync.issue_token('del-hank') AS h1 \gset
SELECT gencount FROM credsync.sync_push('del-hank', 'a', '\x06');
SELECT token AS i1 FROM credsync.account_create('del-ivy', decode(:'pub_g', 'hex'), '\xe1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1',
    3, 268435456, '\xe1') \gset
SELECT gencount FROM credsync.sync_push('del-ivy', 'a', '\x07');
SELECT who, (regress_util.user_rows(who)).* FROM unnest(ARRAY['del-gina', 'del-hank', 'del-ivy']) who;

-- An account needs a proof: without one it is CS400 (nothing changes).
SELECT regress_util.try($$SELECT * FROM credsync.account_delete('del-gina', NULL, NULL)$$) AS no_proof,
       regress_util.try(format('SELECT * FROM credsync.account_delete(%L, %L, NULL)', 'del-gina', :'ch')) AS no_signature,
       regress_util.try(format('SELECT * FROM credsync.account_delete(%L, %L, %L)', 'del-gina', substr(:'ch'::bytea, 2),
                               decode(:'sig', 'hex'))) AS short_challenge,
       regress_util.try($$SELECT * FROM credsync.account_delete('', NULL, NULL)$$) AS bad_user;
-- A wrong proof is a 'failed' row, removes nothing and counts as a failed
-- login: the used challenge (from the login above), another key, another
-- name's challenge.
SELECT result, removed, retry_after FROM credsync.account_delete('del-gina', :'ch', decode(:'sig', 'hex'));
SELECT regress_util.proof('del-gina', challenge) AS msg, challenge AS ch FROM credsync.login_challenge('del-gina') \gset
\set sig `test/tools/ed25519-sign sign :seed_x :msg`
SELECT result, removed, retry_after FROM credsync.account_delete('del-gina', :'ch', decode(:'sig', 'hex'));
SELECT regress_util.proof('del-gina', challenge) AS msg, challenge AS ch FROM credsync.login_challenge('del-ivy') \gset
\set sig `test/tools/ed25519-sign sign :seed_g :msg`
SELECT result, removed, retry_after FROM credsync.account_delete('del-gina', :'ch', decode(:'sig', 'hex'));
SELECT (regress_util.user_rows('del-gina')).*;
-- The same limit as login: after 5 failures, too_many_attempts with
-- retry_after, even for the right proof, and login is locked too.
SELECT regress_util.fail_login('del-gina') AS fourth, regress_util.fail_login('del-gina') AS fifth;
SELECT regress_util.proof('del-gina', challenge) AS msg, challenge AS ch FROM credsync.login_challenge('del-gina') \gset
\set sig `test/tools/ed25519-sign sign :seed_g :msg`
SELECT result, removed, retry_after BETWEEN 1 AND 600 AS retry_after_in_window
  FROM credsync.account_delete('del-gina', :'ch', decode(:'sig', 'hex'));
SELECT regress_util.fail_login('del-gina') AS login_locked;
SELECT (regress_util.user_rows('del-gina')).zones AS zones_kept;
-- Once the window has passed, the right proof erases everything of gina.
UPDATE credsync.login_failures SET window_start = now() - interval '10 minutes 1 second' WHERE name = 'del-gina';
SELECT regress_util.proof('del-gina', challenge) AS msg, challenge AS ch FROM credsync.login_challenge('del-gina') \gset
SELECT challenge AS open_challenge FROM credsync.login_challenge('del-gina') \gset
\set sig `test/tools/ed25519-sign sign :seed_g :msg`
SELECT result, removed, retry_after FROM credsync.account_delete('del-gina', :'ch', decode(:'sig', 'hex'));
SELECT (regress_util.user_rows('del-gina')).*;
SELECT credsync.token_user(:'g1') AS g1, credsync.token_user(:'g2') AS g2,
       (SELECT count(*) FROM credsync.token_identity(sha256(convert_to(:'g2', 'UTF8')))) AS g2_identities;
SELECT * FROM credsync.sync_zones('del-gina');
SELECT * FROM credsync.sync_account('del-gina');
-- The name is free again: a new signup starts from nothing (no zone, no
-- device of the old account).
SELECT user_id FROM credsync.account_create('del-gina', decode(:'pub_g', 'hex'), '\xe2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2',
    3, 268435456, '\xe2');
SELECT (regress_util.user_rows('del-gina')).*;
SELECT * FROM credsync.sync_pull('del-gina', 'a', 0);

-- A user with tokens only: no proof needed (NULL, NULL), everything goes.
SELECT result, removed, retry_after FROM credsync.account_delete('del-hank', NULL, NULL);
SELECT (regress_util.user_rows('del-hank')).*;
SELECT credsync.token_user(:'h1') AS h1;
-- An unknown user: ok, nothing removed.
SELECT result, removed, retry_after FROM credsync.account_delete('del-nobody', NULL, NULL);
-- ivy was not touched.
SELECT (regress_util.user_rows('del-ivy')).*;
SELECT credsync.token_user(:'i1') AS i1;

-- drop_user (admin, 1.4) removes the account, its challenges and its
-- failure counter too.
SELECT length(challenge) FROM credsync.login_challenge('del-ivy');
SELECT regress_util.fail_login('del-ivy');
SELECT credsync.drop_user('del-ivy') AS removed;
SELECT (regress_util.user_rows('del-ivy')).*;
SELECT credsync.drop_user('del-gina') AS removed;

SELECT p.provolatile, p.prosecdef, p.proconfig, has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute,
       p.oid::regprocedure = ANY (credsync.app_functions()) AS app_function
  FROM pg_proc p WHERE p.oid = 'credsync.account_delete(text,bytea,bytea)'::regprocedure;
