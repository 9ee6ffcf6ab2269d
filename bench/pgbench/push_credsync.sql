-- (c) the direct path: credsync.sync_push, a new item per push.
\set u random(1, :users)
SELECT * FROM credsync.sync_push('u' || :u, 'default', decode(repeat('5a', 256), 'hex'));
