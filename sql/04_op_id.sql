-- op_id makes a push idempotent; the same op_id with another request is CS422.
SELECT * FROM credsync.sync_push('dave', 'default', '\x01', '00000000-0000-4000-8000-0000000000d1',
    NULL, '11111111-1111-4111-8111-111111111111');
-- The replay returns the original rows and changes nothing.
SELECT * FROM credsync.sync_push('dave', 'default', '\x01', '00000000-0000-4000-8000-0000000000d1',
    NULL, '11111111-1111-4111-8111-111111111111');
SELECT gencount, items FROM credsync.sync_state('dave', 'default');
-- A server-generated item id is replayed too, not generated again.
CREATE TEMP TABLE first_push AS
SELECT * FROM credsync.sync_push_many('dave', 'default', NULL, ARRAY['\x02', '\x03']::bytea[],
    NULL, '22222222-2222-4222-8222-222222222222');
CREATE TEMP TABLE replayed_push AS
SELECT * FROM credsync.sync_push_many('dave', 'default', NULL, ARRAY['\x02', '\x03']::bytea[],
    NULL, '22222222-2222-4222-8222-222222222222');
SELECT (SELECT array_agg(item ORDER BY gencount) FROM first_push)
     = (SELECT array_agg(item ORDER BY gencount) FROM replayed_push) AS same_items,
       (SELECT array_agg(gencount ORDER BY gencount) FROM replayed_push) AS gencounts;
SELECT gencount, items FROM credsync.sync_state('dave', 'default');
-- Same op_id, different request: CS422 with the op_id as DETAIL; nothing changes.
SELECT regress_util.try($$SELECT credsync.sync_push('dave', 'default', '\x09', '00000000-0000-4000-8000-0000000000d1',
    NULL, '11111111-1111-4111-8111-111111111111')$$);
SELECT regress_util.try($$SELECT credsync.sync_push_many('dave', 'default', NULL, ARRAY['\x02']::bytea[],
    NULL, '22222222-2222-4222-8222-222222222222')$$);
SELECT gencount, items FROM credsync.sync_state('dave', 'default');
-- sync_delete with an op_id is idempotent the same way.
SELECT credsync.sync_delete('dave', 'default', '00000000-0000-4000-8000-0000000000d1', NULL,
    '33333333-3333-4333-8333-333333333333');
SELECT credsync.sync_delete('dave', 'default', '00000000-0000-4000-8000-0000000000d1', NULL,
    '33333333-3333-4333-8333-333333333333');
SELECT gencount, items FROM credsync.sync_state('dave', 'default');
-- Op ids are per (user, zone): the same op_id in another zone is a new push.
SELECT * FROM credsync.sync_push('dave', 'other', '\x01', '00000000-0000-4000-8000-0000000000d1',
    NULL, '11111111-1111-4111-8111-111111111111');
-- A replay is answered even when its if_match would now fail.
SELECT * FROM credsync.sync_push('dave', 'default', '\x0a', '00000000-0000-4000-8000-0000000000d2',
    0, '44444444-4444-4444-8444-444444444444');
SELECT * FROM credsync.sync_push('dave', 'default', '\x0a', '00000000-0000-4000-8000-0000000000d2',
    0, '44444444-4444-4444-8444-444444444444');
-- A failed push records no op id: fixing nothing and retrying fails the same way.
SELECT regress_util.try($$SELECT credsync.sync_push('dave', 'default', '\x0b', '00000000-0000-4000-8000-0000000000d2',
    0, '55555555-5555-4555-8555-555555555555')$$);
SELECT count(*) AS remembered FROM credsync.ops WHERE op_id = '55555555-5555-4555-8555-555555555555';
-- An empty batch records no op id.
SELECT * FROM credsync.sync_push_many('dave', 'default', NULL, '{}', NULL, '66666666-6666-4666-8666-666666666666');
SELECT count(*) AS remembered FROM credsync.ops WHERE op_id = '66666666-6666-4666-8666-666666666666';
SELECT gencount, items FROM credsync.sync_state('dave', 'default');
