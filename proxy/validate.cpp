#include "validate.h"

#include "codec.h"

#include "json_scan.h"

#include <cstdint>
#include <limits>
#include <strings.h>

namespace credsync {

namespace {

bool has(const httplib::Headers &h, const char *name) { return h.find(name) != h.end(); }

std::string value(const httplib::Headers &h, const char *name)
{
    auto it = h.find(name);
    return it == h.end() ? std::string() : it->second;
}

// A query parameter given at most once; nullopt when absent.
std::optional<std::string> query_param(const httplib::Params &params, const char *name)
{
    size_t n = params.count(name);
    if (n == 0) return std::nullopt;
    if (n > 1) throw bad_request(std::string("query parameter '") + name + "' given more than once");
    return params.find(name)->second;
}

long long int_param(const httplib::Params &params, const char *name, long long dflt, long long lo, long long hi)
{
    auto v = query_param(params, name);
    if (!v) return dflt;
    auto n = parse_int(*v, lo, hi);
    if (!n)
        throw bad_request(std::string("query parameter '") + name + "' must be an integer in " +
                          std::to_string(lo) + ".." + std::to_string(hi));
    return *n;
}

}  // namespace

bool has_json_content_type(const httplib::Headers &headers)
{
    if (!has(headers, "Content-Type")) return true;
    std::string t = value(headers, "Content-Type");
    return strncasecmp(t.c_str(), "application/json", 16) == 0 &&
           (t.size() == 16 || t[16] == ';' || t[16] == ' ');
}

void check_request_head(const httplib::Headers &headers, const RouteMatch &m, size_t max_body_bytes)
{
    // Body framing. 0.11.4 checks its size limit only against Content-Length,
    // so chunked or compressed bodies would be unbounded: refuse them outright.
    if (has(headers, "Transfer-Encoding"))
        throw ApiError(411, "length_required", "request bodies need a Content-Length (no chunked encoding)");
    if (has(headers, "Content-Encoding"))
        throw ApiError(415, "unsupported_encoding", "request bodies must not be compressed (Content-Encoding)");
    long long length = 0;
    if (has(headers, "Content-Length")) {
        if (headers.count("Content-Length") != 1) throw bad_request("more than one Content-Length");
        auto n = parse_int(value(headers, "Content-Length"), 0, INT64_MAX);
        if (!n) throw bad_request("invalid Content-Length");
        length = *n;
        if (static_cast<unsigned long long>(length) > max_body_bytes)
            throw ApiError(413, "too_large", "the body is larger than max_body_bytes=" + std::to_string(max_body_bytes));
    }
    // Which of two tokens would decide the user is a guess: refuse.
    if (headers.count("Authorization") > 1) throw bad_request("more than one Authorization header");

    if (m.id == RouteId::none) throw ApiError(404, "not_found", "no such route");
    if (!m.method_ok) throw ApiError(405, "method_not_allowed", std::string("allowed: ") + m.allow);
    if (m.id == RouteId::push) {
        if (!has(headers, "Content-Length"))
            throw ApiError(411, "length_required", "a push needs a body with Content-Length");
        if (!has_json_content_type(headers))
            throw bad_request("Content-Type must be application/json (with curl: -H 'Content-Type: application/json')");
        // Checked here so that a bad zone costs no body read.
        if (!is_zone(m.zone)) throw bad_request("zone must be 1 to 64 characters of [A-Za-z0-9_.-]");
    }
    if (m.body == Body::small) {
        // Login and signup bodies are tiny: nothing larger is read at all.
        if (length > kMaxSmallBody)
            throw ApiError(413, "too_large", "the body is larger than " + std::to_string(kMaxSmallBody) +
                                                 " bytes, the most this route takes");
        if (!has_json_content_type(headers))
            throw bad_request("Content-Type must be application/json (with curl: -H 'Content-Type: application/json')");
    }
}

namespace {

int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Percent-decoding of one name or value; nullopt for a malformed escape.
std::optional<std::string> query_decode(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); i++) {
        if (s[i] == '+') {
            out.push_back(' ');
        } else if (s[i] == '%') {
            if (s.size() - i < 3) return std::nullopt;  // '%' needs two hex digits after it
            int a = hex_digit(s[i + 1]), b = hex_digit(s[i + 2]);
            if (a < 0 || b < 0) return std::nullopt;
            out.push_back(static_cast<char>(a << 4 | b));
            i += 2;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

// A name as it may appear in an error message: the client's own bytes, cut
// short (the JSON encoder escapes the rest).
std::string quoted_name(const std::string &name)
{
    return "'" + (name.size() > 64 ? name.substr(0, 64) + "..." : name) + "'";
}

}  // namespace

httplib::Params parse_query(RouteId route, std::string_view target)
{
    static const std::vector<std::string> pull = {"since", "limit", "wait", "full"};
    static const std::vector<std::string> delete_item = {"if_match", "op_id"};
    static const std::vector<std::string> none;
    const std::vector<std::string> &known =
        route == RouteId::pull ? pull : route == RouteId::delete_item ? delete_item : none;

    httplib::Params params;
    size_t q = target.find('?');
    if (q == std::string_view::npos) return params;
    std::string_view query = target.substr(q + 1);
    while (!query.empty()) {
        size_t amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (pair.empty()) continue;  // "a=1&&b=2", a trailing '&'
        size_t eq = pair.find('=');
        auto name = query_decode(pair.substr(0, eq));
        auto value = query_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
        if (!name) throw bad_request("malformed query string: a bad percent-escape in a parameter's name");
        bool is_known = false;
        for (const auto &k : known) is_known = is_known || k == *name;
        if (!is_known) {
            std::string takes;
            for (const auto &k : known) takes += (takes.empty() ? "" : ", ") + k;
            throw bad_request("unknown query parameter " + quoted_name(*name) +
                              (takes.empty() ? " (this route takes none)" : " (this route takes " + takes + ")"));
        }
        if (params.count(*name)) throw bad_request("query parameter " + quoted_name(*name) + " given more than once");
        if (!value) throw bad_request("malformed query string: a bad percent-escape in " + quoted_name(*name));
        params.emplace(std::move(*name), std::move(*value));
    }
    return params;
}

ApiError too_many_records(size_t max_records)
{
    return ApiError(413, "too_large",
                    "the push has more records than credsync.max_batch_records: max_batch_records=" +
                        std::to_string(max_records));
}

namespace {

// A push's shape: depth 1 is the body object, 2 its records array, 3 a record.
// Nothing valid nests deeper, so deeper is refused as soon as it opens.
constexpr int kMaxDepth = 3;

// What a container open at some depth is (root: the body's own position).
enum class Where : unsigned char { root, other, body, records, record };

// The known keys, as bits of their object's "seen" flags: a repeated key is
// found without a set of the object's keys (unknown keys are refused anyway).
constexpr unsigned kOpId = 1, kRecords = 2;             // in the body
constexpr unsigned kItem = 1, kBlob = 2, kIfMatch = 4;  // in a record

enum class Kind : unsigned char { null, boolean, negative, nonnegative, fraction, string, object, array };

// A JSON value as the SAX parser reports it. For a string, text points into
// the body, or into the parser's buffer for a string with an escape (valid
// during the callback only).
struct Value {
    explicit Value(Kind k) : kind(k) {}
    Kind kind;
    long long negative = 0;  // Kind::negative (a number_integer: "-0" is 0)
    unsigned long long nonnegative = 0;
    std::string_view text;
};

// The record being read. Its problems are noted, then judged at its end in the
// order the checks have always had.
struct Record {
    unsigned seen = 0;
    std::optional<std::string> min_unknown;  // its unknown key that sorts first
    bool item_bad = false;
    std::optional<std::string> item;
    bool blob_wrong_type = false, blob_bad = false, blob_null = false;
    std::optional<std::string> blob;
    bool if_match_bad = false;
    std::optional<long long> if_match;
};

// Keeps the smaller of two keys in std::string's byte order: the order in
// which the earlier std::map-backed parser listed an object's keys, so the
// same unknown key is named.
void keep_min(std::optional<std::string> &min, std::string_view key)
{
    if (!min || key < *min) min = std::string(key);
}

// The SAX handler (of json_scan::parse). A problem is noted in its slot (one
// per kind), the slots are judged in a fixed order once the parse has run to
// the end (so that a body that is not JSON at all is always "not valid JSON"),
// and once any problem is noted nothing more is stored. Only a value nested
// too deep and one record too many stop the parse at once.
class PushSax final {
public:
    enum class Abort { none, syntax, depth, records };

    PushSax(PushRequest &out, size_t max_records) : out_(out), max_records_(max_records) {}

    bool null() { return value(Value{Kind::null}); }
    bool boolean(bool) { return value(Value{Kind::boolean}); }
    bool number_integer(long long v)
    {
        Value x{Kind::negative};
        x.negative = v;
        return value(x);
    }
    bool number_unsigned(unsigned long long v)
    {
        Value x{Kind::nonnegative};
        x.nonnegative = v;
        return value(x);
    }
    bool number_float(double) { return value(Value{Kind::fraction}); }
    bool string(std::string_view s)
    {
        Value x{Kind::string};
        x.text = s;
        return value(x);
    }
    bool start_object() { return open(Kind::object); }
    bool start_array() { return open(Kind::array); }
    bool end_object() { return close(); }
    bool end_array() { return close(); }
    bool key(std::string_view k);
    void parse_error() { abort_ = Abort::syntax; }

    Abort aborted() const { return abort_; }
    // Once the parse has run to the end: the refusal, if any.
    std::optional<std::string> problem() const;

private:
    bool failed() const
    {
        return repeat_ || not_object_ || body_unknown_ || op_id_bad_ || records_bad_ || record_error_;
    }
    // Called as a problem is noted: nothing stored is needed any more.
    void drop_stored() { out_ = PushRequest{}; }
    bool value(const Value &v);
    bool open(Kind kind);
    bool close();
    void record_value(const Value &v);
    void end_record();
    Where here() const { return where_[depth_]; }

    PushRequest &out_;
    size_t max_records_;
    Abort abort_ = Abort::none;
    int depth_ = 0;
    Where where_[kMaxDepth + 1] = {Where::root};  // where_[d]: the container open at depth d
    Where opening_ = Where::other;                 // what the container being opened is
    unsigned field_ = 0;                           // the known key whose value comes next (0: other)
    unsigned body_seen_ = 0;
    bool records_present_ = false;
    size_t records_count_ = 0;
    Record rec_;

    // The problems, in the order they are reported.
    std::optional<std::string> repeat_;        // the first known key given twice in its object
    bool not_object_ = false;                  // the body is not an object
    std::optional<std::string> body_unknown_;  // the unknown body field that sorts first
    bool op_id_bad_ = false;
    bool records_bad_ = false;                 // records is there but not an array
    std::optional<std::string> record_error_;  // the first bad record's message
};

bool PushSax::key(std::string_view k)
{
    unsigned bit = 0;
    unsigned *seen = nullptr;
    if (here() == Where::body) {
        bit = k == "op_id" ? kOpId : k == "records" ? kRecords : 0;
        seen = &body_seen_;
        if (bit == kRecords) records_present_ = true;
        if (!bit) {
            if (!body_unknown_ && !failed()) drop_stored();
            keep_min(body_unknown_, k);
        }
    } else if (here() == Where::record) {
        bit = k == "item" ? kItem : k == "blob" ? kBlob : k == "if_match" ? kIfMatch : 0;
        seen = &rec_.seen;
        if (!bit && !failed()) keep_min(rec_.min_unknown, k);
    }
    field_ = bit;
    if (seen && bit) {
        if (*seen & bit) {
            if (!repeat_) {
                if (!failed()) drop_stored();
                repeat_ = std::string(k);
            }
        }
        *seen |= bit;
    }
    return true;
}

// A value (a scalar, or a container being opened) at the current position.
bool PushSax::value(const Value &v)
{
    opening_ = Where::other;
    switch (here()) {
    case Where::root:
        if (v.kind == Kind::object) opening_ = Where::body;
        else not_object_ = true;  // nothing was stored yet
        break;
    case Where::body:
        if (field_ == kOpId) {
            if (v.kind == Kind::null) break;
            if (v.kind == Kind::string && is_uuid(v.text)) {
                if (!failed()) out_.op_id = uuid_lower(v.text);
            } else if (!op_id_bad_) {
                if (!failed()) drop_stored();
                op_id_bad_ = true;
            }
        } else if (field_ == kRecords) {
            if (v.kind == Kind::array) {
                opening_ = Where::records;
                records_count_ = 0;
            } else if (!records_bad_) {
                if (!failed()) drop_stored();
                records_bad_ = true;
            }
        }
        break;
    case Where::records: {
        size_t i = records_count_++;
        // One record too many ends the parse: with nothing else wrong so far,
        // the database would refuse the push (CS413) after all the work.
        if (records_count_ > max_records_ && !failed()) {
            abort_ = Abort::records;
            return false;
        }
        if (v.kind == Kind::object) {
            opening_ = Where::record;
            rec_ = Record{};
        } else if (!failed()) {
            record_error_ = "records[" + std::to_string(i) + "] must be an object";
            drop_stored();
        }
        break;
    }
    case Where::record: record_value(v); break;
    case Where::other: break;
    }
    return true;
}

void PushSax::record_value(const Value &v)
{
    if (failed()) return;  // a later record's problems are never reported
    switch (field_) {
    case kItem:
        rec_.item.reset();
        rec_.item_bad = false;
        if (v.kind == Kind::string && is_uuid(v.text)) rec_.item = uuid_lower(v.text);
        else if (v.kind != Kind::null) rec_.item_bad = true;
        break;
    case kBlob:
        rec_.blob.reset();
        rec_.blob_null = rec_.blob_wrong_type = rec_.blob_bad = false;
        if (v.kind == Kind::null) {
            rec_.blob_null = true;
        } else if (v.kind != Kind::string) {
            rec_.blob_wrong_type = true;
        } else {
            // Straight from the parser's buffer into the record.
            rec_.blob.emplace();
            if (!base64_decode_into(v.text, *rec_.blob)) {
                rec_.blob.reset();
                rec_.blob_bad = true;
            }
        }
        break;
    case kIfMatch:
        rec_.if_match.reset();
        rec_.if_match_bad = false;
        if (v.kind == Kind::nonnegative &&
            v.nonnegative <= static_cast<unsigned long long>(std::numeric_limits<long long>::max()))
            rec_.if_match = static_cast<long long>(v.nonnegative);
        else if (v.kind == Kind::negative && v.negative >= 0)
            rec_.if_match = v.negative;
        else if (v.kind != Kind::null)
            rec_.if_match_bad = true;
        break;
    default: break;
    }
}

// The checks of one record, in the order they have always been made.
void PushSax::end_record()
{
    if (failed()) return;
    std::string where = "records[" + std::to_string(records_count_ - 1) + "]";
    std::string err;
    if (rec_.min_unknown)
        err = where + ": unknown field '" + *rec_.min_unknown + "' (expected item, blob, if_match)";
    else if (rec_.item_bad)
        err = where + ".item must be a uuid or null";
    else if (!(rec_.seen & kBlob))
        err = where + ".blob is required (base64, or null to delete)";
    else if (rec_.blob_wrong_type)
        err = where + ".blob must be a base64 string or null";
    else if (rec_.blob_bad)
        err = where + ".blob is not valid standard base64";
    else if (!rec_.item && rec_.blob_null)
        err = where + ": a delete needs an item";
    else if (rec_.if_match_bad)
        err = where + ".if_match must be an integer >= 0 or null";
    if (!err.empty()) {
        record_error_ = std::move(err);
        drop_stored();
        return;
    }
    if (rec_.if_match) out_.any_if_match = true;
    out_.items.push_back(std::move(rec_.item));
    out_.blobs.push_back(std::move(rec_.blob));
    out_.if_match.push_back(rec_.if_match);
}

bool PushSax::open(Kind kind)
{
    if (!value(Value{kind})) return false;
    if (depth_ == kMaxDepth) {
        abort_ = Abort::depth;
        return false;
    }
    where_[++depth_] = opening_;
    return true;
}

bool PushSax::close()
{
    if (here() == Where::record) end_record();
    depth_--;
    return true;
}

std::optional<std::string> PushSax::problem() const
{
    if (repeat_) return "the body repeats the key '" + *repeat_ + "'";
    if (not_object_) return std::string("the body must be a JSON object");
    if (body_unknown_) return "unknown field '" + *body_unknown_ + "' (expected records, op_id)";
    if (op_id_bad_) return std::string("op_id must be a uuid");
    if (!records_present_ || records_bad_) return std::string("records must be an array");
    return record_error_;
}

}  // namespace

PushRequest parse_push_body(std::string_view body, size_t max_records)
{
    // json_scan, like nlohmann whose rules it keeps, needs a body without a
    // NUL byte (nlohmann took one for the end of the input); a raw NUL is
    // never valid JSON.
    if (body.find('\0') != std::string_view::npos) throw bad_request("the body is not valid JSON");
    PushRequest p;
    PushSax sax(p, max_records);
    json_scan::parse(body, sax);
    switch (sax.aborted()) {
    case PushSax::Abort::syntax: throw bad_request("the body is not valid JSON");
    case PushSax::Abort::depth:
        throw bad_request("the body nests deeper than a push does (body, records, record: 3 levels)");
    case PushSax::Abort::records: throw too_many_records(max_records);
    case PushSax::Abort::none: break;
    }
    if (auto problem = sax.problem()) throw bad_request(*problem);
    return p;
}

PullParams parse_pull_params(const httplib::Params &params)
{
    PullParams p;
    p.since = int_param(params, "since", 0, 0, std::numeric_limits<long long>::max());
    p.limit = int_param(params, "limit", 1000, 1, kMaxPullRecords);
    p.wait = int_param(params, "wait", 0, 0, 60);
    if (auto f = query_param(params, "full")) {
        if (*f == "true" || *f == "1") p.full = true;
        else if (*f == "false" || *f == "0") p.full = false;
        else throw bad_request("query parameter 'full' must be true, false, 1 or 0");
    }
    return p;
}

DeleteParams parse_delete_params(const httplib::Params &params)
{
    DeleteParams p;
    if (query_param(params, "if_match"))
        p.if_match = int_param(params, "if_match", 0, 0, std::numeric_limits<long long>::max());
    if (auto o = query_param(params, "op_id")) {
        if (!is_uuid(*o)) throw bad_request("op_id must be a uuid");
        p.op_id = uuid_lower(*o);
    }
    return p;
}

}  // namespace credsync
