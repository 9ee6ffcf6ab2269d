#include "citus_shards.h"

#include "spi.h"

extern "C" {
#include "catalog/namespace.h"
#include "commands/extension.h"
}

namespace credsync {

const char *const kShardTableNames[kShardTables] = {"zones", "records", "ops", "quotas"};

// The shard of the user's hash range of credsync.zones, if zones is
// hash-distributed (no row otherwise).
static Statement zones_shard = {
    "SELECT pg_catalog.get_shard_id_for_distribution_column(d.logicalrelid, $1)"
    "  FROM pg_catalog.pg_dist_partition d"
    " WHERE d.logicalrelid OPERATOR(pg_catalog.=) 'credsync.zones'::pg_catalog.regclass"
    "   AND d.partmethod OPERATOR(pg_catalog.=) 'h'",
    1, {TEXTOID}, nullptr};

// ShareLock (5), as Citus's executor takes for a write to the shard: a
// shard move takes it in ExclusiveLock on every node while it switches the
// shards' placement. Colocated shards share the lock, so the zones shard's
// stands for the four.
static Statement lock_metadata = {
    "SELECT pg_catalog.lock_shard_metadata(5, ARRAY[$1])", 1, {INT8OID}, nullptr};

// The four shards and whether each has a placement on this node (its group).
static Statement user_shards = {
    "SELECT s.shardid, EXISTS (SELECT 1 FROM pg_catalog.pg_dist_placement p, pg_catalog.pg_dist_local_group g"
    "                           WHERE p.shardid OPERATOR(pg_catalog.=) s.shardid"
    "                             AND p.groupid OPERATOR(pg_catalog.=) g.groupid),"
    "       (SELECT g.groupid OPERATOR(pg_catalog.=) 0 FROM pg_catalog.pg_dist_local_group g)"
    "  FROM pg_catalog.unnest(ARRAY['credsync.zones', 'credsync.records', 'credsync.ops', 'credsync.quotas']"
    "                         ::pg_catalog.regclass[]) WITH ORDINALITY AS r(rel, n)"
    "  CROSS JOIN LATERAL (SELECT pg_catalog.get_shard_id_for_distribution_column(r.rel, $1) AS shardid) s"
    " ORDER BY r.n",
    1, {TEXTOID}, nullptr};

bool citus_user_shards(text *user_id, Oid relids[kShardTables])
{
    // Without Citus this costs one index probe of pg_extension per push.
    if (!OidIsValid(get_extension_oid("citus", true)))
        return false;
    Datum user[1] = {PointerGetDatum(user_id)};
    if (spi_run(zones_shard, user, nullptr, false, SPI_OK_SELECT) == 0)
        return false;
    Datum shard[1] = {Int64GetDatum(spi_int64(0, 1))};
    spi_run(lock_metadata, shard, nullptr, false, SPI_OK_SELECT);
    // A fresh snapshot: the placement as it is once the lock is ours.
    if (spi_run_latest(user_shards, user, nullptr, false, SPI_OK_SELECT) != kShardTables)
        elog(ERROR, "credsync: the Citus shards of the user were not found");
    Oid schema = get_namespace_oid("credsync", false);
    for (int i = 0; i < kShardTables; i++) {
        if (!spi_bool(i, 2)) {
            if (spi_bool(i, 3))
                ereport(ERROR,
                        (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                         errmsg("credsync: on Citus a push runs on the user's worker, and this call was not "
                                "delegated there"),
                         errhint("Call it as SELECT * FROM credsync.sync_push(...) with the user a constant or a "
                                 "bound parameter, after distribute() of 1.5: Citus then delegates it, in a "
                                 "transaction block and PL/pgSQL too (docs/scaling.md).")));
            ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                            errmsg("credsync: the user's shards are not on this node any more (they were moved)"),
                            errhint("Retry: the call is routed to their new node.")));
        }
        char *name = psprintf("%s_" INT64_FORMAT, kShardTableNames[i], spi_int64(i, 1));
        relids[i] = get_relname_relid(name, schema);
        if (!OidIsValid(relids[i]))
            elog(ERROR, "credsync: the Citus shard credsync.%s is missing on this node", name);
        pfree(name);
    }
    SPI_freetuptable(SPI_tuptable);
    return true;
}

}  // namespace credsync
