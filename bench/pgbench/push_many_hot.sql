-- Every client pushes 100 records per call to the same (user, zone).
SELECT count(*) FROM credsync.sync_push_many('hot', 'default', NULL,
    array_fill(decode(repeat('5a', 256), 'hex'), ARRAY[100]));
