-- Every client pushes to the same (user, zone): one commit at a time.
SELECT * FROM credsync.sync_push('hot', 'default', decode(repeat('5a', 256), 'hex'));
