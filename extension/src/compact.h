// Compaction (docs/operations.md, "Compaction on a schedule"): remove
// tombstones older than `keep`, raise each zone's horizon, remove op ids
// older than the larger of keep and credsync.op_retention. Both raise CS400
// for a negative keep; both return the rows removed.
#pragma once
#include "pg.h"

namespace credsync {

// CS400 (DETAIL keep) if keep is negative.
void compact_check_keep(const Interval *keep);

// In the caller's transaction: every compacted zone stays locked until it
// ends.
int64 compact(const Interval *keep);

// batch zones per transaction, committing after each: only from a CALL that
// may commit (the caller checks). procedure: the procedure's own OID, whose
// owner each batch runs as.
int64 compact_batched(const Interval *keep, int32 batch, Oid procedure);

}  // namespace credsync
