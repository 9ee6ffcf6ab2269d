#include "errors.h"

namespace credsync {

void raise_bad_argument(const char *argument, const char *message)
{
    ereport(ERROR, (errcode(kBadRequest), errmsg("%s", message), errdetail_internal("%s", argument)));
    pg_unreachable();
}

void raise_with_detail(int sqlstate, const char *detail, const char *message)
{
    ereport(ERROR, (errcode(sqlstate), errmsg("%s", message), errdetail_internal("%s", detail)));
    pg_unreachable();
}

}  // namespace credsync

#include "guard.h"

namespace credsync {

void raise_cpp_failure(const char *what, const char *message)
{
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("credsync: %s failed: %s", what, message)));
    pg_unreachable();
}

}  // namespace credsync
