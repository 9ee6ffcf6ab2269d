// SPI statements prepared once per backend and kept (SPI_keepplan).
//
// Each statement is a static Statement in the file that uses it; its plan
// is prepared on first execution. Plain C-style code: SPI raises ERRORs.
#pragma once
#include "pg.h"

namespace credsync {

struct Statement {
    const char *sql;
    int nargs;
    Oid argtypes[8];
    SPIPlanPtr plan;  // nullptr until first use
};

// SPI_connect, raising an ERROR if it fails.
void spi_connect();

// Runs the statement (SPI must be connected); raises an ERROR unless SPI
// answers `expected` (SPI_OK_SELECT, SPI_OK_INSERT_RETURNING, ...).
// read_only: use the caller's snapshot (STABLE functions).
uint64 spi_run(Statement &stmt, const Datum *values, const char *nulls, bool read_only, int expected,
               long max_rows = 0);

// spi_run with a snapshot taken now (after any lock the caller waited
// for), whatever the isolation level: under REPEATABLE READ the
// transaction's snapshot would miss what a transaction it waited for
// committed.
uint64 spi_run_latest(Statement &stmt, const Datum *values, const char *nulls, bool read_only, int expected);

// A cursor over the statement's rows (SPI must be connected); read them
// with SPI_cursor_fetch and close it with SPI_cursor_close.
Portal spi_cursor_open(Statement &stmt, const Datum *values, const char *nulls, bool read_only);

// Column `col` (1-based) of row `row` of SPI_tuptable, or of `table` (an
// earlier result, kept until SPI_finish).
Datum spi_value(uint64 row, int col, bool *isnull);
Datum spi_value(const SPITupleTable *table, uint64 row, int col, bool *isnull);
int64 spi_int64(uint64 row, int col);   // NULL reads as 0
int64 spi_int64(const SPITupleTable *table, uint64 row, int col);
int32 spi_int32(const SPITupleTable *table, uint64 row, int col);  // NULL reads as 0
bool spi_bool(uint64 row, int col);      // NULL reads as false
bool spi_bool(const SPITupleTable *table, uint64 row, int col);

// A palloc'd bytea holding a copy of `len` bytes.
bytea *bytes_as_bytea(const uint8_t *bytes, size_t len);

// Appends rows 0..rows-1 of SPI_tuptable, or of `table`, to a materialized
// result (srf.h): their first `columns` columns become its first columns;
// any result columns after those are NULL.
void spi_rows_to_result(ReturnSetInfo *rsinfo, uint64 rows, int columns);
void spi_rows_to_result(ReturnSetInfo *rsinfo, const SPITupleTable *table, uint64 rows, int columns);

}  // namespace credsync
