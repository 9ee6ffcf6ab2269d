#include "queries.h"

namespace credsync::queries {

// Type oids (pg_type.h is server-side; these values are fixed by PostgreSQL).
namespace oid {
constexpr Oid boolean = 16, bytea = 17, int8 = 20, int4 = 23, text = 25, uuid = 2950;
constexpr Oid bytea_array = 1001, int8_array = 1016, uuid_array = 2951;
}  // namespace oid

const Statement token_user = {"token_user", "SELECT credsync.token_user($1)", {oid::text}};

const Statement issue_token = {"issue_token", "SELECT credsync.issue_token($1, $2)",
                               {oid::text, oid::text}};

const Statement account = {"account",
                           "SELECT bytes, items, max_bytes, max_items FROM credsync.sync_account($1)",
                           {oid::text}};

// The settings exist once the extension's library is loaded in this session
// (any credsync function call loads it); missing_ok covers the first call.
const Statement limits = {"limits",
                          "SELECT pg_catalog.current_setting('credsync.max_blob_bytes', true),"
                          " pg_catalog.current_setting('credsync.max_batch_records', true)",
                          {}};

const Statement zones = {"zones",
                         "SELECT zone, gencount, items, bytes FROM credsync.sync_zones($1)",
                         {oid::text}};

const Statement zone_state = {
    "zone_state",
    "SELECT gencount, digest, items, bytes, horizon FROM credsync.sync_state($1, $2)",
    {oid::text, oid::text}};

// Blobs travel as one binary bytea[] parameter: no hex or escape encoding of
// ciphertext on the way in.
const Statement push_many = {
    "push_many",
    "SELECT item, gencount FROM credsync.sync_push_many($1, $2, $3, $4, $5, $6)",
    {oid::text, oid::text, oid::uuid_array, oid::bytea_array, oid::int8_array, oid::uuid}};

// One pull in one statement, so in one snapshot (sync_pull and sync_state are
// STABLE and read with the statement's snapshot): the page, whether more
// exists and the zone's gencount agree with each other without a transaction.
// $1 user, $2 zone, $3 since, $4 limit, $5 full, $6 max page bytes, $7 want key.
//
// Asked for in binary. The first row is a header: item NULL, gencount = the
// zone's gencount, deleted = "more", key = notify_key() when $7 (else NULL).
// The records follow (uuid 16 bytes, gencount 8 bytes, deleted 1 byte, blob
// raw, key NULL), in sync_pull's order.
//
// - The page asks sync_pull for one row beyond the limit (max_records is at
//   most 10000, so not when limit = 10000); that row is never sent.
// - The page stops early once its blobs pass $6 bytes (at least one record
//   always goes out); the rows cut off are not sent and "more" is true.
// - Otherwise, a full page's "more" is "is there any record (a tombstone
//   counts) after its last gencount", as sync_pull(last, 1, full_sync = true)
//   answers it: true when the extra row came back (any row beyond the page
//   is such a record); else asked, which matters when since = 0 (the page
//   and its extra row are live records only, a tombstone may lie beyond) or
//   limit = 10000 (no extra row), unless the page reaches the zone's
//   gencount (no record lies beyond the counter).
const Statement pull_page = {
    "pull_page",
    "WITH p AS MATERIALIZED ("
    "  SELECT item, gencount, deleted, blob,"
    "         pg_catalog.row_number() OVER w AS ord,"
    "         pg_catalog.sum(COALESCE(pg_catalog.octet_length(blob), 0)) OVER w AS upto"
    "    FROM credsync.sync_pull($1, $2, $3, LEAST($4 + 1, 10000), $5)"
    "  WINDOW w AS (ROWS UNBOUNDED PRECEDING)),"
    " t AS ("
    "  SELECT pg_catalog.count(*) AS fetched,"
    "         pg_catalog.bool_or(ord > 1 AND upto > $6) FILTER (WHERE ord <= $4) AS truncated,"
    "         pg_catalog.max(gencount) FILTER (WHERE ord <= $4) AS last"
    "    FROM p)"
    " SELECT NULL::uuid AS item, s.gencount,"
    "        CASE WHEN t.truncated OR t.fetched > $4 THEN true"
    "             WHEN t.fetched < $4 OR t.last >= s.gencount THEN false"
    "             ELSE EXISTS (SELECT FROM credsync.sync_pull($1, $2, t.last, 1, true)) END AS deleted,"
    "        NULL::bytea AS blob,"
    "        CASE WHEN $7 THEN credsync.notify_key($1, $2) END AS key"
    "   FROM credsync.sync_state($1, $2) s, t"
    " UNION ALL"
    " SELECT item, gencount, deleted, blob, NULL FROM p"
    "  WHERE ord <= $4 AND (ord = 1 OR upto <= $6)",
    {oid::text, oid::text, oid::int8, oid::int4, oid::boolean, oid::int8, oid::boolean}};

const Statement delete_item = {"delete_item",
                               "SELECT credsync.sync_delete($1, $2, $3, $4, $5)",
                               {oid::text, oid::text, oid::uuid, oid::int8, oid::uuid}};

const Statement ping = {"ping", "SELECT 1", {}};

}  // namespace credsync::queries
