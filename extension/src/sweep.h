// Sweeps over every user's rows (compaction's housekeeping), in a form
// Citus runs through the coordinator.
//
// A sweep used to be one statement: DELETE ... USING (SELECT ... LIMIT n
// FOR UPDATE SKIP LOCKED). Over a distributed table that is a multi-shard
// locking query, which Citus refuses. Here it is two steps: read the keys of
// up to n matching rows without locking (a plain multi-shard read), then
// remove each by its key if it still matches, skipping a row another
// transaction holds (one statement on one shard). On a single node the
// outcome is the same: matching rows go, locked ones stay for next time.
#pragma once

#include "pg.h"

namespace credsync {

// Whether this database has credsync.<name> (the library also serves
// databases whose schema is older than the table).
bool have_credsync_table(const char *name);

// Every old deleted-user mark, expired login challenge and passed
// login-failure window: at most `limit` of each kind (0: all). Returns how
// many rows went, of every kind together.
int64 sweep_old_deleted_users(int32 limit);
int64 sweep_expired_login_rows(int32 limit);

}  // namespace credsync
