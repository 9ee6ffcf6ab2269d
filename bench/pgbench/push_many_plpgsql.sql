-- plcredsync.sync_push_many: 100 new items per call (records/s = tps x 100).
\set u random(1, :users)
SELECT count(*) FROM plcredsync.sync_push_many('u' || :u, 'default', NULL,
    array_fill(decode(repeat('5a', 256), 'hex'), ARRAY[100]));
