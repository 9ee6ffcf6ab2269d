// A pull page (GET /v1/zones/{zone}/pull) from its JSON text to records with
// their blobs decoded, in one pass over the text.
//
// A first sync of a large vault is mostly this: ten pages of a megabyte, a
// base64 blob per record. Building a JSON tree of each page (nlohmann) and
// then copying every blob out of it cost more than the rest of the sync
// (docs/client.md, "Speed"), so a page in the shape the server sends is
// read straight into the records by a handler of json_scan's events
// (common/json_scan.h, the parser the proxy reads push bodies with, equal to
// nlohmann's sax_parse). Anything the handler does not expect (a key it does
// not know or given twice, a float, a value of another type) makes it give up
// and the page is read through nlohmann as before: the handler is a fast
// path, never a second definition of what a page is.
#pragma once

#include "bytes.h"

#include <optional>
#include <string>
#include <vector>

namespace credsync {

struct PulledRecord {
    std::string item;           // as sent; the caller checks it is a uuid
    int64_t gencount = 0;
    bool deleted = false;
    std::optional<Bytes> blob;  // decoded; nullopt for a tombstone
};

struct PulledPage {
    std::vector<PulledRecord> records;
    bool more = false;
    int64_t next_since = 0;
    int64_t gencount = 0;
};

// Throws Error (kind server) naming what is wrong with a page that is not one.
PulledPage parse_page(const std::string &text);

// Only the fast path: nullopt where parse_page() would fall back (tests).
std::optional<PulledPage> scan_page(const std::string &text);

}  // namespace credsync
