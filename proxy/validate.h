// Validation of everything a client sends, as pure functions (no I/O, no
// database, no server state): the pre-body checks of the request head, the
// push body, and the query parameters of pull and delete. The server calls
// them (http.cpp, routes.cpp) and so does the fuzzer (test/fuzz/), so what is
// fuzzed is exactly what serves. Every refusal is thrown as ApiError (4xx).
#pragma once

#include "errors.h"
#include "router.h"

#include <httplib.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace credsync {

// Checks of the request line and headers made before any body byte is read:
// body framing (Transfer-Encoding 411, Content-Encoding 415, Content-Length
// invalid/repeated 400 or over max_body_bytes 413), the route (404, 405),
// for a push Content-Length present (411), Content-Type and the zone (400),
// and for a route with a small JSON body (login, signup, ...) a body of at
// most kMaxSmallBody bytes (413) and the Content-Type (400).
// (Whether the body is read whole, and so whether the connection may serve
// another request, is the connection layer's to know: connection.h.)
void check_request_head(const httplib::Headers &headers, const RouteMatch &m, size_t max_body_bytes);

// Absent, or application/json with or without parameters.
bool has_json_content_type(const httplib::Headers &headers);

// A parsed POST /v1/zones/{zone}/push body: parallel arrays, one element per
// record, ready for sync_push_many.
struct PushRequest {
    std::optional<std::string> op_id;  // lower-case uuid
    std::vector<std::optional<std::string>> items;  // lower-case uuids; nullopt = new item
    std::vector<std::optional<std::string>> blobs;  // decoded bytes; nullopt = delete
    std::vector<std::optional<long long>> if_match;
    bool any_if_match = false;
};
// credsync.max_batch_records' default (the database's setting decides; the
// proxy only uses this until it has read the setting).
constexpr size_t kDefaultMaxBatchRecords = 1000;
// Parses a push body as it streams through a SAX parser, straight into the
// PushRequest: no document tree, no copy of the body. What it keeps is bounded
// by the records it stores (at most max_records) and the longest string.
// Refused (ApiError 400, or 413 too_large from too_many_records()):
//  - at once: nesting deeper than a push's 3 levels (body, records, record),
//    and a records array longer than max_records;
//  - otherwise once the whole body has been read, with the first problem in
//    this order: not JSON (or a NUL byte), a known key repeated in the body or
//    a record, not an object, an unknown body field, op_id, records, then the
//    first bad record.
PushRequest parse_push_body(std::string_view body, size_t max_records = kDefaultMaxBatchRecords);
// The 413 of a push over max_records, worded as the database words its own
// (CS413, "max_batch_records=N").
ApiError too_many_records(size_t max_records);

// The query string of a request target (what follows its first '?'), read
// strictly: each "name=value" pair percent-decoded ('+' is a space), and a
// name the route does not take, a name given twice (even with the same
// value) or a malformed escape is 400 naming the parameter. pull takes since,
// limit, wait and full; delete_item if_match and op_id; every other route
// none. (cpp-httplib's own parse, req.params, keeps unknown names and drops a
// repeated identical pair, so that `pull?sinse=2` was a full pull.)
httplib::Params parse_query(RouteId route, std::string_view target);

// GET /v1/zones/{zone}/pull?since=N&limit=L&wait=S&full=B
struct PullParams {
    long long since = 0, limit = 1000, wait = 0;
    bool full = false;
};
constexpr long long kMaxPullRecords = 10000;
PullParams parse_pull_params(const httplib::Params &params);

// DELETE /v1/zones/{zone}/items/{item}?if_match=N&op_id=U
struct DeleteParams {
    std::optional<long long> if_match;
    std::optional<std::string> op_id;  // lower-case uuid
};
DeleteParams parse_delete_params(const httplib::Params &params);

}  // namespace credsync
