// SQLSTATEs of the credsync contract (class CS: the digits are the HTTP
// status the proxy answers) and the helpers that raise them.
//
// Every raise_* function ends in ereport(ERROR), a longjmp: call them only
// from plain code with no C++ object with a destructor alive on the stack.
#pragma once
#include "pg.h"

namespace credsync {

constexpr int kBadRequest   = MAKE_SQLSTATE('C', 'S', '4', '0', '0');
constexpr int kConflict     = MAKE_SQLSTATE('C', 'S', '4', '0', '9');
constexpr int kCursorGone   = MAKE_SQLSTATE('C', 'S', '4', '1', '0');
constexpr int kTooLarge     = MAKE_SQLSTATE('C', 'S', '4', '1', '3');
constexpr int kOpReused     = MAKE_SQLSTATE('C', 'S', '4', '2', '2');
constexpr int kQuotaExceeded = MAKE_SQLSTATE('C', 'S', '5', '0', '7');
// Accounts (1.4; class CS, the proxy maps them): a name that is taken. A
// failed login or one over the rate limit is a result row of login() and
// account_delete(), not an ERROR (an ERROR would roll back the failure
// count); CSA01 and CSA29 are reserved for the proxy's mapping of those.
constexpr int kNameTaken       = MAKE_SQLSTATE('C', 'S', 'A', '0', '9');
constexpr int kLoginFailed     = MAKE_SQLSTATE('C', 'S', 'A', '0', '1');
constexpr int kTooManyAttempts = MAKE_SQLSTATE('C', 'S', 'A', '2', '9');

// CS400 with the argument's name as DETAIL.
[[noreturn]] void raise_bad_argument(const char *argument, const char *message);

// Any contract error with a prepared DETAIL (JSON or "name=value").
[[noreturn]] void raise_with_detail(int sqlstate, const char *detail, const char *message);

}  // namespace credsync
