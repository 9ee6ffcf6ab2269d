// The notifier: NOTIFY without serializing the pushes' commits. This file
// (with notify_worker.cpp) is how a notification is delivered: the ring in
// shared memory, the pushing backend's hand-over at commit and the
// background worker. What is notified, and the payload, is notify_payload.h.
//
// PostgreSQL's PreCommit_Notify takes one cluster-wide lock and holds it
// until the notifying transaction has committed, so every transaction that
// NOTIFYs commits alone (no group commit, one WAL flush each). When credsync
// is in shared_preload_libraries, a push's notification is instead handed,
// after its commit, to a background worker of the same database ("credsync
// notifier"), which sends the notifications of many pushes in one short
// transaction of its own. Without preloading, or when the worker is not
// running yet, the push NOTIFYs in its own transaction as before.
//
// What listeners see does not change: one NOTIFY credsync "<key> <gencount>"
// per committed push, none for a push that rolled back, and a zone's
// notifications in its commit order. See docs/operations.md.
#pragma once
#include "pg.h"

namespace credsync {

// From _PG_init while shared_preload_libraries is processed: asks for the
// shared memory the hand-over needs.
void notifier_request_shared_memory();

// Sends NOTIFY credsync `payload` when the current transaction commits,
// through the notifier if it is running for this database.
void notify_at_commit(const char *payload);

}  // namespace credsync
