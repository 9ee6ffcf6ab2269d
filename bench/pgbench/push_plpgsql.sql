-- (b) the obvious alternative: the same contract in PL/pgSQL.
\set u random(1, :users)
SELECT * FROM plcredsync.sync_push('u' || :u, 'default', decode(repeat('5a', 256), 'hex'));
