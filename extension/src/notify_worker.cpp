#include "notify_worker.h"

extern "C" {
#include "access/xact.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/pmsignal.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
}

namespace credsync {

// --- shared state ------------------------------------------------------------
//
// One slot per database that has a notifier, each with a ring of payloads.
// A committing push reserves its entries at PRE_COMMIT, while it still holds
// the zone's row lock, so that ring order is commit order within a zone; it
// fills them in after its commit (or marks them skipped if the commit
// failed). The worker sends entries from the tail and waits at a reserved
// one. Everything in a slot is guarded by the one LWLock.
//
// A slot is given back (its database set to InvalidOid) when it has neither
// a worker nor entries. Nothing else may end a slot's life while it holds
// entries of a live database: they would be lost, or a new slot's worker
// would send later payloads before them. So a worker that dies with entries
// left asks for a successor, and a database that finds no slot reclaims the
// ones nobody can use any more (see reclaim_slots()).

constexpr int kDatabases = 8;
constexpr uint64 kRingEntries = 4096;
constexpr int kPayloadBytes = 64;    // "<32 hex> <gencount>" and a NUL
constexpr int kBatch = 1024;         // payloads per worker transaction
constexpr int kIdleExitMs = 2000;    // frees the database for DROP DATABASE
// While pushes keep coming, the worker looks at the ring every kPollMs
// instead of being woken per push: waking a sleeping process is a signal,
// which cost a single-client push about 8% of its time.
constexpr int kPollMs = 2;
constexpr int kPollWindowMs = 200;
// A start not retried sooner than this; a registered worker that has not
// taken its slot after this long is taken to have failed.
constexpr int kStartRetryMs = 10000;
constexpr char kName[] = "credsync notifier";

enum EntryState : uint8 { kReserved, kReady, kSkipped };

struct Entry {
    uint8 state;
    char payload[kPayloadBytes];
};

struct DatabaseSlot {
    Oid database;                    // InvalidOid: the slot is free
    pid_t worker_pid;                // 0: no worker is serving the slot
    Latch *worker_latch;
    bool worker_polling;             // no need to wake the worker
    bool starting;                   // a worker was registered and has not taken the slot yet
    TimestampTz start_requested_at;  // the last start request; 0: none since the last worker
    uint64 head;                     // entries [tail, head) are in use
    uint64 tail;
    Entry ring[kRingEntries];
};

struct NotifierShared {
    LWLock *lock;
    DatabaseSlot slots[kDatabases];
};

static NotifierShared *shared = nullptr;  // stays NULL unless preloaded
static shmem_request_hook_type previous_request_hook = nullptr;
static shmem_startup_hook_type previous_startup_hook = nullptr;

static void request_shared_memory()
{
    if (previous_request_hook)
        previous_request_hook();
    RequestAddinShmemSpace(sizeof(NotifierShared));
    RequestNamedLWLockTranche(kName, 1);
}

static void attach_shared_memory()
{
    if (previous_startup_hook)
        previous_startup_hook();
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    bool found;
    shared = static_cast<NotifierShared *>(ShmemInitStruct(kName, sizeof(NotifierShared), &found));
    if (!found) {
        memset(shared, 0, sizeof(NotifierShared));
        shared->lock = &GetNamedLWLockTranche(kName)->lock;
    }
    LWLockRelease(AddinShmemInitLock);
}

void notifier_request_shared_memory()
{
    previous_request_hook = shmem_request_hook;
    shmem_request_hook = request_shared_memory;
    previous_startup_hook = shmem_startup_hook;
    shmem_startup_hook = attach_shared_memory;
}

static Entry &entry_at(DatabaseSlot &slot, uint64 position)
{
    return slot.ring[position % kRingEntries];
}

// The slot has no worker from now on (and nobody is starting one); a slot
// without entries is free for any database. Lock held.
static void clear_worker(DatabaseSlot &slot)
{
    slot.worker_pid = 0;
    slot.worker_latch = nullptr;
    slot.worker_polling = false;
    slot.starting = false;
    slot.start_requested_at = 0;
    if (slot.head == slot.tail)
        slot.database = InvalidOid;
}

// A worker registered less than kStartRetryMs ago may still take the slot.
// Lock held.
static bool start_pending(const DatabaseSlot &slot, TimestampTz now)
{
    return slot.starting && !TimestampDifferenceExceeds(slot.start_requested_at, now, kStartRetryMs);
}

// Records a start request if none was made in the last kStartRetryMs (so
// that a database whose workers cannot start, max_worker_processes being
// reached, does not try on every push). The caller then calls
// request_worker() after releasing the lock. Lock held.
static bool mark_start(DatabaseSlot &slot, TimestampTz now)
{
    if (slot.worker_pid != 0 || start_pending(slot, now))
        return false;
    if (slot.start_requested_at != 0 && !TimestampDifferenceExceeds(slot.start_requested_at, now, kStartRetryMs))
        return false;
    slot.starting = true;
    slot.start_requested_at = now;
    return true;
}

// A worker whose process is gone without clearing the slot. Its exit
// callback normally clears it (and a crash resets shared memory), so this
// is a safety net. Lock held; takes ProcArrayLock, which is never held
// while waiting for ours.
static void forget_dead_worker(DatabaseSlot &slot)
{
    if (slot.worker_pid != 0 && BackendPidGetProc(slot.worker_pid) == nullptr)
        clear_worker(slot);
}

static void claim(DatabaseSlot &slot, Oid database)
{
    slot.head = slot.tail = 0;
    clear_worker(slot);
    slot.database = database;
}

// The database's slot, claiming a free one if it has none, or else one that
// has no worker, no worker starting and no entries (its database's pushes
// find no slot and NOTIFY themselves until one is free; a worker still on
// its way to the old database sees the slot is not its own and leaves).
// -1 if there is none. Lock held.
static int slot_for(Oid database, TimestampTz now)
{
    int free_slot = -1;
    for (int i = 0; i < kDatabases; i++) {
        if (shared->slots[i].database == database)
            return i;
        if (free_slot < 0 && shared->slots[i].database == InvalidOid)
            free_slot = i;
    }
    for (int i = 0; free_slot < 0 && i < kDatabases; i++) {
        DatabaseSlot &slot = shared->slots[i];
        forget_dead_worker(slot);
        if (slot.database == InvalidOid ||
            (slot.worker_pid == 0 && !start_pending(slot, now) && slot.head == slot.tail))
            free_slot = i;
    }
    if (free_slot >= 0)
        claim(shared->slots[free_slot], database);
    return free_slot;
}

// --- the pushing backend -------------------------------------------------------

struct PendingNotification {
    int nesting_level;  // of the (sub)transaction that pushed
    char payload[kPayloadBytes];
};

// This transaction's notifications, in TopTransactionContext.
static PendingNotification *pending = nullptr;
static int pending_count = 0;
static int pending_capacity = 0;
// Where PRE_COMMIT reserved them, or -1 when they went out by NOTIFY.
static int reserved_slot = -1;
static uint64 reserved_from = 0;

static void forget_pending()
{
    pending = nullptr;
    pending_count = pending_capacity = 0;
    reserved_slot = -1;
}

// Registers a worker for the slot after mark_start(). Lock not held.
static void request_worker(int slot_index, Oid database)
{
    BackgroundWorker worker;
    memset(&worker, 0, sizeof worker);
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
    worker.bgw_restart_time = BGW_NEVER_RESTART;  // the next push starts another
    strlcpy(worker.bgw_library_name, "credsync", BGW_MAXLEN);
    strlcpy(worker.bgw_function_name, "credsync_notifier_main", BGW_MAXLEN);
    strlcpy(worker.bgw_name, kName, BGW_MAXLEN);
    strlcpy(worker.bgw_type, kName, BGW_MAXLEN);
    worker.bgw_main_arg = Int32GetDatum(slot_index);
    memcpy(worker.bgw_extra, &database, sizeof database);
    if (RegisterDynamicBackgroundWorker(&worker, nullptr))
        return;
    // max_worker_processes is reached. The start time stays, so that the
    // pushes of the next kStartRetryMs NOTIFY directly and then one retries;
    // but no worker is coming, so another database may take the slot if it
    // has no entries.
    LWLockAcquire(shared->lock, LW_EXCLUSIVE);
    DatabaseSlot &slot = shared->slots[slot_index];
    if (slot.database == database && slot.worker_pid == 0)
        slot.starting = false;
    LWLockRelease(shared->lock);
}

// Whether the database is still in pg_database. Lock not held: this reads
// the catalog (from the pushing transaction, at PRE_COMMIT).
static bool database_exists(Oid database)
{
    return SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum(database));
}

struct Orphan {
    int index;
    Oid database;
};

// Slots without a worker (and none starting) that still hold entries: their
// database's worker died before sending them and no push has come since.
// Lock held, after slot_for() found nothing (and so forgot dead workers).
static int find_orphans(Orphan *orphans, TimestampTz now)
{
    int n = 0;
    for (int i = 0; i < kDatabases; i++) {
        DatabaseSlot &slot = shared->slots[i];
        if (slot.database != InvalidOid && slot.worker_pid == 0 && !start_pending(slot, now) &&
            slot.head != slot.tail)
            orphans[n++] = {i, slot.database};
    }
    return n;
}

// For a database that found no slot: an orphaned slot of a dropped database
// is freed (nobody can listen there any more); one of a live database gets a
// worker that sends its entries and then leaves, freeing it. Entries of a
// live database are never thrown away to make room. Lock not held.
static void reclaim_slots(const Orphan *orphans, int n)
{
    for (int i = 0; i < n; i++) {
        bool dropped = !database_exists(orphans[i].database);
        bool start = false;
        LWLockAcquire(shared->lock, LW_EXCLUSIVE);
        DatabaseSlot &slot = shared->slots[orphans[i].index];
        TimestampTz now = GetCurrentTimestamp();
        if (slot.database == orphans[i].database && slot.worker_pid == 0 && !start_pending(slot, now)) {
            if (dropped) {
                slot.head = slot.tail = 0;
                clear_worker(slot);
            } else {
                start = mark_start(slot, now);
            }
        }
        LWLockRelease(shared->lock);
        if (start)
            request_worker(orphans[i].index, orphans[i].database);
    }
}

// No slot was free: reclaim what can be, then look again. Lock held on entry
// and on return, released in between.
static int reclaim_and_retry(TimestampTz *now)
{
    Orphan orphans[kDatabases];
    int n = find_orphans(orphans, *now);
    if (n == 0)
        return -1;
    LWLockRelease(shared->lock);
    reclaim_slots(orphans, n);
    LWLockAcquire(shared->lock, LW_EXCLUSIVE);
    *now = GetCurrentTimestamp();
    return slot_for(MyDatabaseId, *now);
}

// PRE_COMMIT: reserve ring entries if this database's worker is running and
// there is room; otherwise NOTIFY now, the way PostgreSQL does it, and start
// a worker for the pushes to come. While earlier entries wait for a worker
// that is starting (the previous one died), the push queues behind them
// instead, so that they are not overtaken.
static void hand_over_or_notify()
{
    if (pending_count == 0)
        return;
    bool start = false;
    LWLockAcquire(shared->lock, LW_EXCLUSIVE);
    TimestampTz now = GetCurrentTimestamp();
    int index = slot_for(MyDatabaseId, now);
    if (index < 0)
        index = reclaim_and_retry(&now);
    if (index >= 0) {
        DatabaseSlot &slot = shared->slots[index];
        uint64 room = kRingEntries - (slot.head - slot.tail);
        bool served = slot.worker_pid != 0 || (slot.head != slot.tail && start_pending(slot, now));
        if (served && room >= static_cast<uint64>(pending_count)) {
            reserved_slot = index;
            reserved_from = slot.head;
            for (int i = 0; i < pending_count; i++)
                entry_at(slot, slot.head + i).state = kReserved;
            slot.head += pending_count;
        } else {
            start = mark_start(slot, now);
        }
    }
    LWLockRelease(shared->lock);
    if (reserved_slot >= 0)
        return;
    for (int i = 0; i < pending_count; i++)
        Async_Notify("credsync", pending[i].payload);
    pending_count = 0;
    if (start)
        request_worker(index, MyDatabaseId);
}

// After COMMIT (kReady) or an abort that followed PRE_COMMIT (kSkipped).
// Must not raise an ERROR: the transaction's fate is already decided.
static void settle_reserved(EntryState state)
{
    if (reserved_slot < 0)
        return;
    DatabaseSlot &slot = shared->slots[reserved_slot];
    LWLockAcquire(shared->lock, LW_EXCLUSIVE);
    for (int i = 0; i < pending_count; i++) {
        Entry &entry = entry_at(slot, reserved_from + i);
        if (state == kReady)
            memcpy(entry.payload, pending[i].payload, kPayloadBytes);
        entry.state = state;
    }
    Latch *worker = slot.worker_polling ? nullptr : slot.worker_latch;
    LWLockRelease(shared->lock);
    if (worker)
        SetLatch(worker);
}

static void on_transaction_event(XactEvent event, void *)
{
    switch (event) {
    case XACT_EVENT_PRE_COMMIT:
        hand_over_or_notify();
        break;
    case XACT_EVENT_PRE_PREPARE:
        // NOTIFY now, so that PREPARE TRANSACTION refuses the transaction
        // exactly as it refuses any other that notified.
        for (int i = 0; i < pending_count; i++)
            Async_Notify("credsync", pending[i].payload);
        pending_count = 0;
        break;
    case XACT_EVENT_COMMIT:
        settle_reserved(kReady);
        forget_pending();
        break;
    case XACT_EVENT_ABORT:
        settle_reserved(kSkipped);
        forget_pending();
        break;
    case XACT_EVENT_PREPARE:
        forget_pending();
        break;
    default:
        break;
    }
}

// A rolled-back savepoint takes its pushes' notifications with it; a released
// one hands them to its parent.
static void on_subtransaction_event(SubXactEvent event, SubTransactionId, SubTransactionId, void *)
{
    int level = GetCurrentTransactionNestLevel();
    if (event == SUBXACT_EVENT_ABORT_SUB) {
        int kept = 0;
        for (int i = 0; i < pending_count; i++)
            if (pending[i].nesting_level < level)
                pending[kept++] = pending[i];
        pending_count = kept;
    } else if (event == SUBXACT_EVENT_COMMIT_SUB) {
        for (int i = 0; i < pending_count; i++)
            if (pending[i].nesting_level >= level)
                pending[i].nesting_level = level - 1;
    }
}

void notify_at_commit(const char *payload)
{
    if (shared == nullptr) {
        Async_Notify("credsync", payload);
        return;
    }
    if (strlen(payload) >= static_cast<size_t>(kPayloadBytes))
        elog(ERROR, "credsync: notification payload too long");
    static bool callbacks_registered = false;
    if (!callbacks_registered) {
        RegisterXactCallback(on_transaction_event, nullptr);
        RegisterSubXactCallback(on_subtransaction_event, nullptr);
        callbacks_registered = true;
    }
    if (pending_count == pending_capacity) {
        int capacity = Max(4, pending_capacity * 2);
        size_t bytes = sizeof(PendingNotification) * capacity;
        pending = static_cast<PendingNotification *>(
            pending ? repalloc(pending, bytes) : MemoryContextAlloc(TopTransactionContext, bytes));
        pending_capacity = capacity;
    }
    PendingNotification &next = pending[pending_count++];
    next.nesting_level = GetCurrentTransactionNestLevel();
    strlcpy(next.payload, payload, kPayloadBytes);
}

// --- the worker -------------------------------------------------------------------

static int worker_slot = -1;
static Oid worker_database = InvalidOid;

// Frees the slot for a new worker; a slot with entries keeps its database
// so that the next worker sends them. A worker that served and leaves
// entries behind (pg_terminate_backend, DROP DATABASE … WITH (FORCE)) asks
// for that next worker itself: otherwise they would wait for the
// database's next push, or forever. A worker that never got to serve asks
// for none, so a database that cannot be connected to (dropped) does not
// start workers in a loop; its slot is freed by reclaim_slots().
static void on_worker_exit(int, Datum)
{
    LWLockReleaseAll();
    if (worker_slot < 0)
        return;  // retired, or never served: the slot is not ours to touch
    bool successor = false;
    LWLockAcquire(shared->lock, LW_EXCLUSIVE);
    DatabaseSlot &slot = shared->slots[worker_slot];
    if (slot.database == worker_database && (slot.worker_pid == MyProcPid || slot.worker_pid == 0)) {
        bool served = slot.worker_pid == MyProcPid;
        clear_worker(slot);
        if (served && slot.head != slot.tail && PostmasterIsAlive())
            successor = mark_start(slot, GetCurrentTimestamp());
    }
    LWLockRelease(shared->lock);
    if (successor)
        request_worker(worker_slot, worker_database);
}

// Copies up to kBatch ready payloads from the tail; stops at a reservation
// whose transaction has not finished committing.
static int take_ready(DatabaseSlot &slot, char (*batch)[kPayloadBytes])
{
    int n = 0;
    LWLockAcquire(shared->lock, LW_EXCLUSIVE);
    while (slot.tail < slot.head && n < kBatch) {
        Entry &entry = entry_at(slot, slot.tail);
        if (entry.state == kReserved)
            break;
        if (entry.state == kReady)
            memcpy(batch[n++], entry.payload, kPayloadBytes);
        slot.tail++;
    }
    LWLockRelease(shared->lock);
    return n;
}

// After kIdleExitMs without work: leave, unless something was just reserved.
static bool retire_if_idle(DatabaseSlot &slot)
{
    LWLockAcquire(shared->lock, LW_EXCLUSIVE);
    bool idle = slot.head == slot.tail;
    if (idle)
        clear_worker(slot);
    LWLockRelease(shared->lock);
    if (idle)
        worker_slot = -1;
    return idle;
}

// One transaction for the batch. If it fails (the NOTIFY queue is full
// because a listener stopped reading), the batch is lost: the pushes are
// committed, and listeners resynchronise by pulling. The worker goes on.
static void send_batch(char (*batch)[kPayloadBytes], int n)
{
    SetCurrentStatementStartTimestamp();
    // The payloads have left the ring: a SIGTERM waits until they are sent.
    HOLD_INTERRUPTS();
    PG_TRY();
    {
        StartTransactionCommand();
        for (int i = 0; i < n; i++)
            Async_Notify("credsync", batch[i]);
        CommitTransactionCommand();
    }
    PG_CATCH();
    {
        HOLD_INTERRUPTS();
        EmitErrorReport();
        AbortOutOfAnyTransaction();
        FlushErrorState();
        RESUME_INTERRUPTS();
        MemoryContextSwitchTo(TopMemoryContext);
        elog(WARNING, "credsync notifier: %d notifications were not sent", n);
    }
    PG_END_TRY();
    RESUME_INTERRUPTS();
}

static void set_polling(DatabaseSlot &slot, bool polling)
{
    LWLockAcquire(shared->lock, LW_EXCLUSIVE);
    slot.worker_polling = polling;
    LWLockRelease(shared->lock);
}

static void serve(DatabaseSlot &slot, char (*batch)[kPayloadBytes])
{
    TimestampTz last_work = GetCurrentTimestamp();
    bool polling = false;
    for (;;) {
        ResetLatch(MyLatch);
        CHECK_FOR_INTERRUPTS();
        int n = take_ready(slot, batch);
        TimestampTz now = GetCurrentTimestamp();
        if (n > 0) {
            send_batch(batch, n);
            last_work = now;
            if (!polling)
                set_polling(slot, polling = true);
            continue;
        }
        if (polling && TimestampDifferenceExceeds(last_work, now, kPollWindowMs)) {
            // From now on pushes wake us; look once more for one that did not.
            set_polling(slot, polling = false);
            continue;
        }
        if (TimestampDifferenceExceeds(last_work, now, kIdleExitMs) && retire_if_idle(slot))
            return;
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
                        polling ? kPollMs : kIdleExitMs / 4, PG_WAIT_EXTENSION);
    }
}

}  // namespace credsync

extern "C" {
PGDLLEXPORT void credsync_notifier_main(Datum main_arg);

void credsync_notifier_main(Datum main_arg)
{
    using namespace credsync;
    worker_slot = DatumGetInt32(main_arg);
    memcpy(&worker_database, MyBgworkerEntry->bgw_extra, sizeof worker_database);
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    before_shmem_exit(on_worker_exit, (Datum)0);
    BackgroundWorkerInitializeConnectionByOid(worker_database, InvalidOid, 0);
    // The notifications are not durable anyway; don't wait for a WAL flush.
    SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);

    // Allocated before taking the slot: a worker that fails here has not
    // served and asks for no successor.
    auto *batch = static_cast<char(*)[kPayloadBytes]>(MemoryContextAlloc(TopMemoryContext, kBatch * kPayloadBytes));

    DatabaseSlot &slot = shared->slots[worker_slot];
    LWLockAcquire(shared->lock, LW_EXCLUSIVE);
    bool mine = slot.database == worker_database && slot.worker_pid == 0;
    if (mine) {
        slot.worker_pid = MyProcPid;
        slot.worker_latch = MyLatch;
        slot.worker_polling = false;
        slot.starting = false;
        slot.start_requested_at = 0;
    }
    LWLockRelease(shared->lock);
    if (mine)
        serve(slot, batch);
    else
        worker_slot = -1;  // a stale start: another worker serves the slot
    proc_exit(0);
}
}
