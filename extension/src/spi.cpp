#include "spi.h"

extern "C" {
#include "utils/snapmgr.h"
}

namespace credsync {

static SPIPlanPtr prepared(Statement &stmt)
{
    if (stmt.plan == nullptr) {
        SPIPlanPtr plan = SPI_prepare(stmt.sql, stmt.nargs, stmt.argtypes);
        if (plan == nullptr)
            elog(ERROR, "credsync: SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
        if (SPI_keepplan(plan) != 0)
            elog(ERROR, "credsync: SPI_keepplan failed");
        stmt.plan = plan;
    }
    return stmt.plan;
}

void spi_connect()
{
    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "credsync: SPI_connect failed");
}

uint64 spi_run(Statement &stmt, const Datum *values, const char *nulls, bool read_only, int expected,
               long max_rows)
{
    int rc = SPI_execute_plan(prepared(stmt), const_cast<Datum *>(values), nulls, read_only, max_rows);
    if (rc != expected)
        elog(ERROR, "credsync: unexpected SPI result %s", SPI_result_code_string(rc));
    return SPI_processed;
}

uint64 spi_run_latest(Statement &stmt, const Datum *values, const char *nulls, bool read_only, int expected)
{
    int rc = SPI_execute_snapshot(prepared(stmt), const_cast<Datum *>(values), nulls, GetLatestSnapshot(),
                                  InvalidSnapshot, read_only, true, 0);
    if (rc != expected)
        elog(ERROR, "credsync: unexpected SPI result %s", SPI_result_code_string(rc));
    return SPI_processed;
}

Portal spi_cursor_open(Statement &stmt, const Datum *values, const char *nulls, bool read_only)
{
    Portal portal = SPI_cursor_open(nullptr, prepared(stmt), const_cast<Datum *>(values), nulls, read_only);
    if (portal == nullptr)
        elog(ERROR, "credsync: SPI_cursor_open failed: %s", SPI_result_code_string(SPI_result));
    return portal;
}

Datum spi_value(const SPITupleTable *table, uint64 row, int col, bool *isnull)
{
    return SPI_getbinval(table->vals[row], table->tupdesc, col, isnull);
}

Datum spi_value(uint64 row, int col, bool *isnull)
{
    return spi_value(SPI_tuptable, row, col, isnull);
}

int64 spi_int64(const SPITupleTable *table, uint64 row, int col)
{
    bool isnull;
    Datum d = spi_value(table, row, col, &isnull);
    return isnull ? 0 : DatumGetInt64(d);
}

int64 spi_int64(uint64 row, int col)
{
    return spi_int64(SPI_tuptable, row, col);
}

int32 spi_int32(const SPITupleTable *table, uint64 row, int col)
{
    bool isnull;
    Datum d = spi_value(table, row, col, &isnull);
    return isnull ? 0 : DatumGetInt32(d);
}

bool spi_bool(const SPITupleTable *table, uint64 row, int col)
{
    bool isnull;
    Datum d = spi_value(table, row, col, &isnull);
    return isnull ? false : DatumGetBool(d);
}

bool spi_bool(uint64 row, int col)
{
    return spi_bool(SPI_tuptable, row, col);
}

bytea *bytes_as_bytea(const uint8_t *bytes, size_t len)
{
    bytea *b = static_cast<bytea *>(palloc(VARHDRSZ + len));
    SET_VARSIZE(b, VARHDRSZ + len);
    memcpy(VARDATA(b), bytes, len);
    return b;
}

void spi_rows_to_result(ReturnSetInfo *rsinfo, const SPITupleTable *table, uint64 rows, int columns)
{
    int width = rsinfo->setDesc->natts;
    Datum *values = static_cast<Datum *>(palloc0(sizeof(Datum) * width));
    bool *nulls = static_cast<bool *>(palloc(sizeof(bool) * width));
    for (int col = columns; col < width; col++)
        nulls[col] = true;
    for (uint64 row = 0; row < rows; row++) {
        CHECK_FOR_INTERRUPTS();  // as many rows as a user has zones, or a pull page
        for (int col = 0; col < columns; col++)
            values[col] = spi_value(table, row, col + 1, &nulls[col]);
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
    }
}

void spi_rows_to_result(ReturnSetInfo *rsinfo, uint64 rows, int columns)
{
    spi_rows_to_result(rsinfo, SPI_tuptable, rows, columns);
}

}  // namespace credsync
