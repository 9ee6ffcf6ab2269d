#include "queries.h"

#include <algorithm>
#include <cctype>

namespace credsync::queries {

// Type oids (pg_type.h is server-side; these values are fixed by PostgreSQL).
namespace oid {
constexpr Oid boolean = 16, bytea = 17, int8 = 20, int4 = 23, text = 25, uuid = 2950;
constexpr Oid bytea_array = 1001, int8_array = 1016, uuid_array = 2951;
}  // namespace oid

// By the token's SHA-256 (32 raw bytes, a binary bytea parameter), never the
// token itself: statement logging records bind parameters, and a token in a
// log is a credential in a log (extension 1.3). token_identity (1.4) also
// gives the token's device and records when it was last seen (at most once a
// minute, never waiting for a lock).
const Statement token_identity = {"token_identity", "SELECT user_id, device FROM credsync.token_identity($1)",
                                  {oid::bytea}};

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

// Every zone with its digest and horizon in one statement (extension 1.5), so
// that a device with nothing new learns it from GET /v1/zones alone.
const Statement zones = {"zones",
                         "SELECT zone, gencount, digest, items, bytes, horizon FROM credsync.sync_zone_states($1)",
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

// One pull in one statement, so in one snapshot: sync_pull_page reads the
// zone's gencount and the page together, so the page, whether more exists
// and the zone's gencount agree with each other without a transaction. It
// stops the page once the blobs pass $6 bytes (the rows beyond are never
// sent), so a pull's memory stays bounded by that.
// $1 user, $2 zone, $3 since, $4 limit, $5 full, $6 max page bytes.
//
// Asked for in binary. The first row is the header: item NULL, gencount =
// the zone's gencount, more. The records follow (uuid 16 bytes, gencount 8
// bytes, deleted 1 byte, blob raw, more NULL), in sync_pull's order.
const Statement pull_page = {
    "pull_page",
    "SELECT item, gencount, deleted, blob, more FROM credsync.sync_pull_page($1, $2, $3, $4, $5, $6)",
    {oid::text, oid::text, oid::int8, oid::int4, oid::boolean, oid::int8}};

// The channel a long-poll listens on. Not part of the page's snapshot: the
// key of a (user, zone) only changes with the installation's secret.
const Statement notify_key = {"notify_key", "SELECT credsync.notify_key($1, $2)", {oid::text, oid::text}};

const Statement delete_item = {"delete_item",
                               "SELECT credsync.sync_delete($1, $2, $3, $4, $5)",
                               {oid::text, oid::text, oid::uuid, oid::int8, oid::uuid}};

const Statement ping = {"ping", "SELECT 1", {}};

const Statement account_create = {
    "account_create",
    "SELECT user_id, device, token FROM credsync.account_create($1, $2, $3, $4, $5, $6, $7)",
    {oid::text, oid::bytea, oid::bytea, oid::int8, oid::int8, oid::bytea, oid::text}};

const Statement login_challenge = {
    "login_challenge",
    "SELECT challenge, salt, kdf_ops, kdf_mem, expires_in FROM credsync.login_challenge($1)",
    {oid::text}};

// A failed login is a row (result 'failed' or 'too_many_attempts'), not an
// ERROR, so that its failure count and the used challenge commit: the pool
// runs each statement in its own transaction.
const Statement login = {
    "login",
    "SELECT result, user_id, device, token, wrapped_key, retry_after FROM credsync.login($1, $2, $3, $4)",
    {oid::text, oid::bytea, oid::bytea, oid::text}};

// Timestamps as RFC 3339 in UTC, to the second.
const Statement device_list = {
    "device_list",
    "SELECT id, label,"
    " pg_catalog.to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " pg_catalog.to_char(last_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    " FROM credsync.device_list($1)",
    {oid::text}};

const Statement device_revoke = {"device_revoke", "SELECT credsync.device_revoke($1, $2)", {oid::text, oid::uuid}};

const Statement set_login = {
    "set_login",
    "SELECT credsync.account_set_login($1, $2, $3, $4, $5, $6, $7, $8)",
    {oid::text, oid::bytea, oid::bytea, oid::int8, oid::int8, oid::bytea, oid::boolean, oid::uuid}};

const Statement zone_delete = {"zone_delete", "SELECT credsync.zone_delete($1, $2)", {oid::text, oid::text}};

const Statement account_delete = {
    "account_delete",
    "SELECT result, removed, retry_after FROM credsync.account_delete($1, $2, $3)",
    {oid::text, oid::bytea, oid::bytea}};

namespace {
const Statement *const all[] = {&token_identity, &issue_token, &account, &limits, &zones, &zone_state,
                                &push_many, &pull_page, &notify_key, &delete_item, &ping,
                                &account_create, &login_challenge, &login, &device_list, &device_revoke,
                                &set_login, &zone_delete, &account_delete};
}  // namespace

std::vector<std::string> functions_called()
{
    std::vector<std::string> names;
    const std::string prefix = "credsync.";
    for (const Statement *st : all) {
        const std::string sql = st->sql;
        for (size_t at = sql.find(prefix); at != std::string::npos; at = sql.find(prefix, at + 1)) {
            size_t start = at + prefix.size(), end = start;
            while (end < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[end])) || sql[end] == '_')) end++;
            std::string name = sql.substr(start, end - start);
            if (end < sql.size() && sql[end] == '(' &&
                std::find(names.begin(), names.end(), name) == names.end())
                names.push_back(name);
        }
    }
    return names;
}

}  // namespace credsync::queries
