// Materialized set-returning functions: the rows go into a tuplestore set
// up before SPI_connect, in the per-query memory that outlives the call.
#pragma once
#include "pg.h"

namespace credsync {

inline ReturnSetInfo *begin_materialized_result(FunctionCallInfo fcinfo)
{
#if PG_VERSION_NUM >= 150001
    InitMaterializedSRF(fcinfo, 0);
#else
    SetSingleFuncCall(fcinfo, 0);
#endif
    return reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
}

}  // namespace credsync
