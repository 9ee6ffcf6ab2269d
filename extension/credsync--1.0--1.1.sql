-- credsync 1.0 -> 1.1: verify_zone(), an administrator's consistency check.

\echo Use "ALTER EXTENSION credsync UPDATE TO '1.1'" to load this file. \quit

-- Recomputes a zone's digest, live items and bytes from its records (and
-- the highest gencount stored) and says whether the incrementally
-- maintained values in credsync.zones match.
CREATE FUNCTION @extschema@.verify_zone(user_id text, zone text)
    RETURNS TABLE(max_gencount bigint, digest bytea, items bigint, bytes bigint, matches boolean)
    AS 'MODULE_PATHNAME', 'credsync_verify_zone'
    LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

REVOKE ALL ON FUNCTION @extschema@.verify_zone(text, text) FROM PUBLIC;
