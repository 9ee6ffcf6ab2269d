#include "tables.h"

#include "citus_shards.h"

extern "C" {
#include "access/relscan.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "parser/parsetree.h"
#include "storage/lmgr.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

namespace credsync {

static void equality_keys(Relation index, ScanKey keys);

// The table (or, on Citus, its shard) and its primary key, opened with
// `lock`; the key's probe is not started yet.
static void open_keyed(Table &table, Oid relid, const char *name, LOCKMODE lock)
{
    if (!OidIsValid(relid))
        elog(ERROR, "credsync: table credsync.%s is missing", name);
    table.rel = table_open(relid, lock);
    Oid key = RelationGetPrimaryKeyIndex(table.rel);
    if (!OidIsValid(key))
        elog(ERROR, "credsync: table %s has no primary key", RelationGetRelationName(table.rel));
    table.key = index_open(key, lock);
    equality_keys(table.key, table.keys);
    table.nkeys = IndexRelationGetNumberOfKeyAttributes(table.key);
    table.probe = nullptr;
    table.info = nullptr;
    table.found = table.scanned = table.row = table.target = nullptr;
}

// What writing to an opened table needs: its indexes and the row slots.
static void prepare_writes(EState *estate, Table &table, Index range_index)
{
    table.info = makeNode(ResultRelInfo);
    InitResultRelInfo(table.info, table.rel, range_index, nullptr, 0);
    ExecOpenIndices(table.info, false);
    table.found = table_slot_create(table.rel, &estate->es_tupleTable);
    table.scanned = table_slot_create(table.rel, &estate->es_tupleTable);
    table.row = ExecInitExtraTupleSlot(estate, RelationGetDescr(table.rel), &TTSOpsVirtual);
    table.target = ExecInitExtraTupleSlot(estate, RelationGetDescr(table.rel), &TTSOpsVirtual);
}

static RangeTblEntry *range_entry(const Table &table)
{
    RangeTblEntry *rte = makeNode(RangeTblEntry);
    rte->rtekind = RTE_RELATION;
    rte->relid = RelationGetRelid(table.rel);
    rte->relkind = RELKIND_RELATION;
    rte->rellockmode = RowExclusiveLock;
    return rte;
}

void open_push_tables(PushTables *t, text *user_id)
{
    // On Citus the user's shards (citus_shards.h): the tables of these
    // names are empty shells there.
    Oid relids[kShardTables];
    if (!citus_user_shards(user_id, relids)) {
        Oid schema = get_namespace_oid("credsync", false);
        for (int i = 0; i < kShardTables; i++)
            relids[i] = get_relname_relid(kShardTableNames[i], schema);
    }
    t->estate = CreateExecutorState();
    t->estate->es_output_cid = GetCurrentCommandId(true);
    t->estate->es_snapshot = GetActiveSnapshot();
    open_keyed(t->zones, relids[0], kShardTableNames[0], RowExclusiveLock);
    open_keyed(t->records, relids[1], kShardTableNames[1], RowExclusiveLock);
    open_keyed(t->ops, relids[2], kShardTableNames[2], RowExclusiveLock);
    open_keyed(t->quotas, relids[3], kShardTableNames[3], AccessShareLock);
    // A range table only so that a constraint violation can be reported the
    // usual way (the executor looks the relation up by range table index).
    ExecInitRangeTable(t->estate, list_make3(range_entry(t->zones), range_entry(t->records), range_entry(t->ops)));
    prepare_writes(t->estate, t->zones, 1);
    prepare_writes(t->estate, t->records, 2);
    prepare_writes(t->estate, t->ops, 3);
    t->quotas.scanned = table_slot_create(t->quotas.rel, &t->estate->es_tupleTable);
    EvalPlanQualInit(&t->epq, t->estate, nullptr, NIL, -1);
    AfterTriggerBeginQuery();  // credsync's tables have no triggers; an added one still fires
}

static void close_table(Table &table)
{
    if (table.probe)
        index_endscan(table.probe);
    if (table.info)
        ExecCloseIndices(table.info);
    index_close(table.key, NoLock);
    table_close(table.rel, NoLock);
}

void close_push_tables(PushTables *t)
{
    AfterTriggerEndQuery(t->estate);
    EvalPlanQualEnd(&t->epq);
    close_table(t->zones);
    close_table(t->records);
    close_table(t->ops);
    close_table(t->quotas);
    ExecResetTupleTable(t->estate->es_tupleTable, false);
    FreeExecutorState(t->estate);
    t->estate = nullptr;
}

int column_of(const Table &table, const char *name)
{
    TupleDesc desc = RelationGetDescr(table.rel);
    for (int i = 0; i < desc->natts; i++) {
        Form_pg_attribute att = TupleDescAttr(desc, i);
        if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
            return i;
    }
    elog(ERROR, "credsync: table %s has no column %s", RelationGetRelationName(table.rel), name);
}

// Equality on each key column, with the index's own operator family and
// collation (so "C" for the text columns); the values are set per scan.
static void equality_keys(Relation index, ScanKey keys)
{
    for (int i = 0; i < IndexRelationGetNumberOfKeyAttributes(index); i++) {
        Oid type = index->rd_opcintype[i];
        Oid op = get_opfamily_member(index->rd_opfamily[i], type, type, BTEqualStrategyNumber);
        if (!OidIsValid(op))
            elog(ERROR, "credsync: no equality operator for column %d of index %s", i + 1,
                 RelationGetRelationName(index));
        ScanKeyEntryInitialize(&keys[i], 0, i + 1, BTEqualStrategyNumber, type, index->rd_indcollation[i],
                               get_opcode(op), (Datum)0);
    }
}

static void set_key_values(Table &table, const Datum *key, int nkeys)
{
    for (int i = 0; i < nkeys; i++)
        table.keys[i].sk_argument = key[i];
}

IndexScanDesc begin_key_scan(Table &table, const Datum *key, int nkeys, Snapshot snapshot)
{
    set_key_values(table, key, nkeys);
    IndexScanDesc scan = index_beginscan(table.rel, table.key, snapshot, nkeys, 0);
    index_rescan(scan, table.keys, nkeys, nullptr, 0);
    return scan;
}

bool next_row(IndexScanDesc scan, Table &table)
{
    return index_getnext_slot(scan, ForwardScanDirection, table.scanned);
}

// One probe of the primary key with a dirty snapshot, which also sees rows
// that are being inserted or deleted: the writer to wait for, if any, comes
// back in *wait.
static bool probe_key(Table &table, const Datum *key, TransactionId *wait)
{
    InitDirtySnapshot(table.dirty);
    set_key_values(table, key, table.nkeys);
    if (!table.probe)
        table.probe = index_beginscan(table.rel, table.key, &table.dirty, table.nkeys, 0);
    index_rescan(table.probe, table.keys, table.nkeys, nullptr, 0);
    bool found = index_getnext_slot(table.probe, ForwardScanDirection, table.found);
    *wait = InvalidTransactionId;
    if (found)
        *wait = TransactionIdIsValid(table.dirty.xmin) ? table.dirty.xmin : table.dirty.xmax;
    return found;
}

static void check_visible_to_transaction(Table &table)
{
    if (IsolationUsesXactSnapshot() &&
        !table_tuple_satisfies_snapshot(table.rel, table.found, GetTransactionSnapshot()))
        ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                        errmsg("could not serialize access due to concurrent update")));
}

bool find_by_key(Table &table, const Datum *key)
{
    for (;;) {
        TransactionId wait;
        if (!probe_key(table, key, &wait))
            return false;
        if (!TransactionIdIsValid(wait)) {
            check_visible_to_transaction(table);
            return true;
        }
        XactLockTableWait(wait, table.rel, &table.found->tts_tid, XLTW_FetchUpdated);
    }
}

bool lock_by_key(Table &table, const Datum *key)
{
    for (;;) {
        TransactionId wait;
        if (!probe_key(table, key, &wait))
            return false;
        if (TransactionIdIsValid(wait)) {
            XactLockTableWait(wait, table.rel, &table.found->tts_tid, XLTW_Lock);
            continue;
        }
        TM_FailureData failure;
        TM_Result result = table_tuple_lock(table.rel, &table.found->tts_tid, GetLatestSnapshot(), table.found,
                                            GetCurrentCommandId(false), LockTupleNoKeyExclusive, LockWaitBlock,
                                            TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &failure);
        switch (result) {
        case TM_Ok:
            check_visible_to_transaction(table);
            return true;
        case TM_Deleted:  // deleted while we waited: look again
            continue;
        default:
            elog(ERROR, "credsync: could not lock a row of %s (%d)", RelationGetRelationName(table.rel),
                 static_cast<int>(result));
        }
    }
}

void start_row(Table &table)
{
    TupleTableSlot *row = table.row;
    ExecClearTuple(row);
    for (int i = 0; i < row->tts_tupleDescriptor->natts; i++) {
        row->tts_values[i] = (Datum)0;
        row->tts_isnull[i] = true;
    }
}

void set_column(Table &table, int column, Datum value)
{
    table.row->tts_values[column] = value;
    table.row->tts_isnull[column] = false;
}

void finish_row(Table &table)
{
    ExecStoreVirtualTuple(table.row);
}

Datum column_value(TupleTableSlot *row, int column, bool *isnull)
{
    return slot_getattr(row, column + 1, isnull);
}

int64 column_int64(TupleTableSlot *row, int column)
{
    bool isnull;
    Datum d = column_value(row, column, &isnull);
    return isnull ? 0 : DatumGetInt64(d);
}

void insert_row(PushTables *t, Table &table)
{
    ExecSimpleRelationInsert(table.info, t->estate, table.row);
    ResetPerTupleExprContext(t->estate);
}

void update_row(PushTables *t, Table &table, const ItemPointerData &tid)
{
    ExecClearTuple(table.target);
    table.target->tts_tid = tid;
    ExecSimpleRelationUpdate(table.info, t->estate, &t->epq, table.target, table.row);
    ResetPerTupleExprContext(t->estate);
}

}  // namespace credsync
