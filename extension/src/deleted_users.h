// Deleted users (1.4): a deletion that no late push can undo.
//
// drop_user and account_delete lock the user's zones and remove what they
// hold, but a push that comes after they took the zones (a device whose
// token was checked before the deletion) or that creates a new zone
// meanwhile would otherwise build a whole zone under a user id that has no
// account and no token left. So:
//
//   - the deletion takes the user's lock exclusively (a transaction-level
//     heavyweight lock keyed by a hash of the user id; share holders do not
//     block each other, the exclusive holder blocks them all) before it
//     locks the zones, and records the user id in credsync.deleted_users
//     before it commits;
//   - a push that must create its zone (the zone has no row: new, or
//     removed by the deletion while the push waited for it) takes that lock
//     in share mode first, and then, with a snapshot taken after the lock,
//     refuses with CS401 if the user was deleted within the last hour;
//   - issue_token and account_create start the id again: they take the
//     lock in share mode and remove the mark.
//
// A push into a zone that exists costs nothing more: it waits for the
// zone's row lock, as before. docs/sql-api.md, "Removing a user".
//
// Plain C-style code: everything here may raise an ERROR. SPI must be
// connected.
#pragma once
#include "pg.h"

namespace credsync {

// How long a deletion refuses pushes that would create a zone of its user
// (SQL interval text; also how long compaction keeps a mark).
#define CREDSYNC_DELETED_USER_RETENTION "1 hour"

// CS401: the user was deleted (the proxy answers 401 unauthorized: the
// device's token is revoked).
constexpr int kUserDeleted = MAKE_SQLSTATE('C', 'S', '4', '0', '1');

// Whether this database has credsync.deleted_users (schema 1.4): the
// library also serves databases not yet updated, whose pushes and tokens
// behave as before.
bool have_deleted_users();

// For drop_user/account_delete (schema 1.4), before the user's zones are
// locked: the user's lock, exclusively, to the end of the transaction.
// Under REPEATABLE READ or SERIALIZABLE, a zone of the user that a push
// committed after the transaction's snapshot (and so that the deletion
// would not see) is a serialization failure.
void lock_user_for_deletion(text *user_id);

// After the deletion's rows are gone: records the user as deleted now.
void mark_user_deleted(text *user_id);

// For a push about to create a zone of the user: waits for a deletion of
// the user in progress and raises CS401 if the user was deleted within the
// retention. Does nothing on a database without credsync.deleted_users.
void refuse_zone_if_user_deleted(text *user_id);

// For issue_token and account_create: the user id starts again (waits for a
// deletion of it in progress, then removes its mark). Does nothing on a
// database without credsync.deleted_users.
void forget_user_deleted(text *user_id);

// Compaction: removes marks older than the retention, at most `limit` (0:
// all), skipping marks a deletion holds. Returns how many. Does nothing
// (0) on a database without credsync.deleted_users.
int64 forget_old_deleted_users(int32 limit);

}  // namespace credsync
