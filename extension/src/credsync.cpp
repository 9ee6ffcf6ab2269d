// The library's module block: PG_MODULE_MAGIC and _PG_init, run once per
// backend when credsync.so is loaded (by the first call of a credsync
// function, or at server start from shared_preload_libraries).
//
// The SQL-callable functions are in sql_functions.cpp.
#include "notify_worker.h"
#include "settings.h"

extern "C" {
PG_MODULE_MAGIC;

void _PG_init(void);
void _PG_init(void)
{
    credsync::define_settings();  // the credsync.* GUCs
    if (process_shared_preload_libraries_in_progress)
        credsync::notifier_request_shared_memory();  // the notifier's ring (notify_worker.h)
}
}
