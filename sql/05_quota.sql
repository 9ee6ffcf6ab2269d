-- Quotas count live records over all of a user's zones; only growth is checked.
SELECT * FROM credsync.sync_account('erin');
SELECT credsync.set_quota('erin', 10, 3);
SELECT * FROM credsync.sync_account('erin');
SELECT gencount FROM credsync.sync_push('erin', 'a', '\x0102030405', '00000000-0000-4000-8000-0000000000e1');
SELECT gencount FROM credsync.sync_push('erin', 'b', '\x0102', '00000000-0000-4000-8000-0000000000e2');
-- Bytes over quota: CS507 with the usage before the push.
SELECT regress_util.try($$SELECT credsync.sync_push('erin', 'b', '\x010203040506', '00000000-0000-4000-8000-0000000000e3')$$);
SELECT gencount FROM credsync.sync_push('erin', 'b', '\x010203', '00000000-0000-4000-8000-0000000000e3');
-- Items over quota.
SELECT regress_util.try($$SELECT credsync.sync_push('erin', 'a', '\x', '00000000-0000-4000-8000-0000000000e4')$$);
SELECT * FROM credsync.sync_account('erin');
-- A lower quota: usage is over it, yet deletes and shrinking updates go through.
SELECT credsync.set_quota('erin', 4, 1);
SELECT gencount FROM credsync.sync_push('erin', 'a', '\x01', '00000000-0000-4000-8000-0000000000e1');
SELECT credsync.sync_delete('erin', 'b', '00000000-0000-4000-8000-0000000000e2');
SELECT regress_util.try($$SELECT credsync.sync_push('erin', 'b', '\x0102030405', '00000000-0000-4000-8000-0000000000e3')$$);
SELECT * FROM credsync.sync_account('erin');
SELECT sum(items) AS items, sum(bytes) AS bytes FROM credsync.sync_zones('erin');
-- NULL means the default settings.
SELECT credsync.set_quota('erin', NULL, 100);
SELECT * FROM credsync.sync_account('erin');
SELECT credsync.set_quota('erin', NULL, NULL);
SELECT * FROM credsync.sync_account('erin');
-- (SET LOCAL: see 02_errors.)
BEGIN;
SET LOCAL credsync.default_max_items = 2;
SELECT regress_util.try($$SELECT credsync.sync_push('erin', 'c', '\x01')$$);
SELECT * FROM credsync.sync_account('erin');
COMMIT;
SELECT gencount FROM credsync.sync_push('erin', 'c', '\x01');
