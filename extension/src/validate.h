// Argument checks shared by every function: each raises CS400 naming the
// argument, so bad input never reaches a table.
#pragma once
#include "pg.h"

namespace credsync {

constexpr int kMaxUserIdBytes = 256;
constexpr int kMaxZoneChars = 64;
constexpr int kMaxPullRecords = 10000;

// Returns the argument as text after checking it; `argument` names it in the error.
text *user_id_arg(FunctionCallInfo fcinfo, int argno, const char *argument = "user_id");
text *zone_arg(FunctionCallInfo fcinfo, int argno);

// A value that must not be NULL.
Datum required_arg(FunctionCallInfo fcinfo, int argno, const char *argument);

// A bytea of min_len..max_len bytes (NULL: CS400 too); detoasted.
bytea *bytes_arg(FunctionCallInfo fcinfo, int argno, const char *argument, int min_len, int max_len);
// The same, or nullptr for NULL.
bytea *optional_bytes_arg(FunctionCallInfo fcinfo, int argno, const char *argument, int min_len, int max_len);
// A bigint in min..max (NULL: CS400 too).
int64 bounded_int64_arg(FunctionCallInfo fcinfo, int argno, const char *argument, int64 min, int64 max);

// A device label (1.4): NULL (nullptr), or at most 200 bytes without
// control characters.
constexpr int kMaxLabelBytes = 200;
text *label_arg(FunctionCallInfo fcinfo, int argno, const char *argument);

// True for a user id of 1..256 bytes without control characters (C0, DEL, C1).
bool valid_user_id(const char *bytes, int len);
// True for no control characters (C0, DEL, C1) in `len` bytes.
bool no_control_characters(const char *bytes, int len);
// True for 1..64 characters of [A-Za-z0-9_.-].
bool valid_zone(const char *bytes, int len);

}  // namespace credsync
