// credsync.* settings (GUCs). All are superuser-only (PGC_SUSET): an
// application role must not be able to raise its own limits.
#pragma once
#include "pg.h"

namespace credsync {

struct Settings {
    int  max_blob_bytes;       // credsync.max_blob_bytes
    int  max_batch_records;    // credsync.max_batch_records
    int  default_max_bytes;    // credsync.default_max_bytes
    int  default_max_items;    // credsync.default_max_items
    int  op_retention_seconds; // credsync.op_retention
    bool notify;               // credsync.notify
};

extern Settings settings;

void define_settings();

}  // namespace credsync
