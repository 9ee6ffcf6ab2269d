-- The last 1,000 changes of zone :zone of user 'puller1' (every seeded zone's
-- gencount is its size + 1000, so since = size is exactly 1,000 records back).
SELECT * FROM credsync.sync_pull('puller1', :zone, :since, 1000);
