#include "settings.h"

namespace credsync {

Settings settings = {
    1024 * 1024,        // max_blob_bytes: 1 MiB
    1000,               // max_batch_records
    256 * 1024 * 1024,  // default_max_bytes: 256 MiB
    100000,             // default_max_items
    24 * 60 * 60,       // op_retention: 24h
    true,               // notify
};

void define_settings()
{
    DefineCustomIntVariable("credsync.max_blob_bytes",
                            "Largest blob a single record may carry.", nullptr,
                            &settings.max_blob_bytes, settings.max_blob_bytes, 0, INT_MAX,
                            PGC_SUSET, GUC_UNIT_BYTE, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("credsync.max_batch_records",
                            "Most records one push may carry.", nullptr,
                            &settings.max_batch_records, settings.max_batch_records, 1, INT_MAX,
                            PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("credsync.default_max_bytes",
                            "Live blob bytes a user may store when no quota is set for them.",
                            "Quotas above 2 GiB are set per user with credsync.set_quota().",
                            &settings.default_max_bytes, settings.default_max_bytes, 0, INT_MAX,
                            PGC_SUSET, GUC_UNIT_BYTE, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("credsync.default_max_items",
                            "Live records a user may store when no quota is set for them.", nullptr,
                            &settings.default_max_items, settings.default_max_items, 0, INT_MAX,
                            PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("credsync.op_retention",
                            "How long op ids are remembered at least (compact() keeps them this long).",
                            nullptr,
                            &settings.op_retention_seconds, settings.op_retention_seconds, 0, INT_MAX,
                            PGC_SUSET, GUC_UNIT_S, nullptr, nullptr, nullptr);
    DefineCustomBoolVariable("credsync.notify",
                             "Send NOTIFY credsync for every committed push.", nullptr,
                             &settings.notify, settings.notify,
                             PGC_SUSET, 0, nullptr, nullptr, nullptr);
    MarkGUCPrefixReserved("credsync");
}

}  // namespace credsync
