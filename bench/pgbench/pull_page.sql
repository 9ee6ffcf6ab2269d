-- A device's first page: since = 0, up to 100 live records of a seeded user
-- (the same call the proxy makes for GET /v1/zones/default/pull?limit=100).
\set u random(1, :users)
SELECT * FROM credsync.sync_pull('u' || :u, 'default', 0, 100);
