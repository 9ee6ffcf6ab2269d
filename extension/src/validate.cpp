#include "validate.h"

#include "errors.h"

namespace credsync {

bool valid_user_id(const char *bytes, int len)
{
    return len >= 1 && len <= kMaxUserIdBytes && no_control_characters(bytes, len);
}

bool no_control_characters(const char *bytes, int len)
{
    for (int i = 0; i < len; i++) {
        unsigned char c = static_cast<unsigned char>(bytes[i]);
        if (c < 0x20 || c == 0x7f)
            return false;
        // U+0080..U+009F (C1 controls) are 0xC2 0x80..0x9F in UTF-8.
        if (c == 0xc2 && i + 1 < len) {
            unsigned char next = static_cast<unsigned char>(bytes[i + 1]);
            if (next >= 0x80 && next <= 0x9f)
                return false;
        }
    }
    return true;
}

bool valid_zone(const char *bytes, int len)
{
    if (len < 1 || len > kMaxZoneChars)
        return false;
    for (int i = 0; i < len; i++) {
        char c = bytes[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

Datum required_arg(FunctionCallInfo fcinfo, int argno, const char *argument)
{
    if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
        raise_bad_argument(argument, psprintf("%s must not be NULL", argument));
    return PG_GETARG_DATUM(argno);
}

text *user_id_arg(FunctionCallInfo fcinfo, int argno, const char *argument)
{
    text *t = DatumGetTextPP(required_arg(fcinfo, argno, argument));
    if (!valid_user_id(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)))
        raise_bad_argument(argument, "invalid user id: 1 to 256 bytes without control characters");
    return t;
}

bytea *optional_bytes_arg(FunctionCallInfo fcinfo, int argno, const char *argument, int min_len, int max_len)
{
    if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
        return nullptr;
    bytea *b = PG_GETARG_BYTEA_PP(argno);
    int len = VARSIZE_ANY_EXHDR(b);
    if (len < min_len || len > max_len) {
        if (min_len == max_len)
            raise_bad_argument(argument, psprintf("%s must be %d bytes", argument, min_len));
        raise_bad_argument(argument, psprintf("%s must be %d to %d bytes", argument, min_len, max_len));
    }
    return b;
}

bytea *bytes_arg(FunctionCallInfo fcinfo, int argno, const char *argument, int min_len, int max_len)
{
    required_arg(fcinfo, argno, argument);
    return optional_bytes_arg(fcinfo, argno, argument, min_len, max_len);
}

int64 bounded_int64_arg(FunctionCallInfo fcinfo, int argno, const char *argument, int64 min, int64 max)
{
    int64 v = DatumGetInt64(required_arg(fcinfo, argno, argument));
    if (v < min || v > max)
        raise_bad_argument(argument,
                           psprintf("%s must be between " INT64_FORMAT " and " INT64_FORMAT, argument, min, max));
    return v;
}

text *label_arg(FunctionCallInfo fcinfo, int argno, const char *argument)
{
    if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
        return nullptr;
    text *t = PG_GETARG_TEXT_PP(argno);
    int len = VARSIZE_ANY_EXHDR(t);
    if (len > kMaxLabelBytes || !no_control_characters(VARDATA_ANY(t), len))
        raise_bad_argument(argument, psprintf("%s: at most %d bytes without control characters", argument,
                                              kMaxLabelBytes));
    return t;
}

text *zone_arg(FunctionCallInfo fcinfo, int argno)
{
    text *t = DatumGetTextPP(required_arg(fcinfo, argno, "zone"));
    if (!valid_zone(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)))
        raise_bad_argument("zone", "invalid zone: 1 to 64 characters of [A-Za-z0-9_.-]");
    return t;
}

}  // namespace credsync
