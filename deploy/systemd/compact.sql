-- Run daily by credsync-compact.service:
--   psql -v keep=INTERVAL -v batch=N -d CONNINFO -f compact.sql
-- compact_batched commits after every batch of zones, so it must be CALLed
-- outside a transaction block (psql's autocommit, as here).
\set ON_ERROR_STOP 1
SET application_name = 'credsync-compact';
CALL credsync.compact_batched(:'keep', :'batch') \gset
\echo credsync compaction done: :removed rows removed (keep :keep, batch :batch)
