#include "page.h"

#include "error.h"
#include "json_scan.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <limits>


namespace credsync {

namespace {

[[noreturn]] void bad_page(const std::string &what)
{
    throw Error(Error::Kind::server, "the server sent an unexpected answer (" + what + ")");
}

// The page in the shape the server sends it, from json_scan's events straight
// into records (a blob is decoded from the page's text). Anything else (a key
// it does not know, a key given twice, a float, a value of another type) makes
// it give up, and the page is read through nlohmann instead, which decides.
class PageSax {
public:
    explicit PageSax(PulledPage &out) : out_(out) {}

    bool syntax_error() const { return syntax_error_; }

    bool start_object()
    {
        if (depth_ == 0) return enter(1);
        if (depth_ != 2) return false;
        out_.records.emplace_back();
        rec_seen_ = 0;
        blob_ = Blob::none;
        return enter(3);
    }
    bool start_array() { return depth_ == 1 && slot_ == Slot::records && enter(2); }
    bool key(std::string_view k)
    {
        Slot s;
        if (depth_ == 1) {
            s = k == "records" ? Slot::records : k == "more" ? Slot::more : k == "next_since" ? Slot::next_since
                : k == "gencount" ? Slot::gencount : Slot::none;
            return s != Slot::none && once(page_seen_, s);
        }
        s = k == "item" ? Slot::item : k == "gencount" ? Slot::rec_gencount : k == "deleted" ? Slot::deleted
            : k == "blob" ? Slot::blob : Slot::none;
        return s != Slot::none && once(rec_seen_, s);
    }
    bool string(std::string_view v)
    {
        if (depth_ != 3) return false;
        PulledRecord &r = out_.records.back();
        if (slot_ == Slot::item) {
            r.item.assign(v.data(), v.size());
            return true;
        }
        if (slot_ != Slot::blob) return false;
        r.blob.emplace();
        blob_ = base64_decode_into(v.data(), v.size(), *r.blob) ? Blob::decoded : Blob::bad;
        return true;
    }
    bool null()
    {
        if (depth_ != 3 || slot_ != Slot::blob) return false;
        blob_ = Blob::null;
        return true;
    }
    bool boolean(bool b)
    {
        if (depth_ == 1 && slot_ == Slot::more) out_.more = b;
        else if (depth_ == 3 && slot_ == Slot::deleted) out_.records.back().deleted = b;
        else return false;
        return true;
    }
    bool number_unsigned(unsigned long long v)
    {
        return v <= static_cast<unsigned long long>(std::numeric_limits<int64_t>::max()) &&
               number_integer(static_cast<long long>(v));
    }
    bool number_integer(long long v)
    {
        if (depth_ == 1 && slot_ == Slot::next_since) out_.next_since = v;
        else if (depth_ == 1 && slot_ == Slot::gencount) out_.gencount = v;
        else if (depth_ == 3 && slot_ == Slot::rec_gencount) out_.records.back().gencount = v;
        else return false;
        return true;
    }
    bool number_float(double) { return false; }
    bool end_array() { return enter(1); }  // only records' array is ever open
    bool end_object()
    {
        if (depth_ == 1) {  // the page
            depth_ = 0;
            return has(page_seen_, Slot::records) && has(page_seen_, Slot::next_since) && has(page_seen_, Slot::gencount);
        }
        PulledRecord &r = out_.records.back();  // a record
        depth_ = 2;
        if (!has(rec_seen_, Slot::rec_gencount)) return false;
        if (r.deleted) {
            r.blob.reset();  // a tombstone's blob is not read
            return true;
        }
        return blob_ == Blob::decoded;  // otherwise the slow path says what is wrong
    }
    void parse_error() { syntax_error_ = true; }

private:
    enum class Slot { none, records, more, next_since, gencount, item, rec_gencount, deleted, blob };
    enum class Blob { none, null, decoded, bad };

    bool enter(int depth)
    {
        depth_ = depth;
        return true;
    }
    static unsigned bit(Slot s) { return 1u << static_cast<unsigned>(s); }
    static bool has(unsigned seen, Slot s) { return seen & bit(s); }
    bool once(unsigned &seen, Slot s)
    {
        if (has(seen, s)) return false;  // nlohmann keeps the last: rare, left to it
        seen |= bit(s);
        slot_ = s;
        return true;
    }

    PulledPage &out_;
    int depth_ = 0;  // 1: in the page, 2: in its records, 3: in a record
    Slot slot_ = Slot::none;  // the key whose value comes next
    unsigned page_seen_ = 0, rec_seen_ = 0;
    Blob blob_ = Blob::none;
    bool syntax_error_ = false;
};

enum class Scan { page, not_json, other };

Scan scan(const std::string &text, PulledPage &out)
{
    // json_scan stops where nlohmann would not (nlohmann ends its input at a
    // NUL byte): such a text is nlohmann's to read.
    if (std::memchr(text.data(), 0, text.size())) return Scan::other;
    PageSax sax(out);
    if (json_scan::parse(text, sax)) return Scan::page;
    return sax.syntax_error() ? Scan::not_json : Scan::other;
}

PulledPage from_tree(const nlohmann::json &page)
{
    auto get_int = [](const nlohmann::json &j, const char *key) {
        if (!j.is_object() || !j.contains(key) || !j[key].is_number_integer()) bad_page(std::string("no integer ") + key);
        return j[key].get<int64_t>();
    };
    if (!page.is_object() || !page.contains("records") || !page["records"].is_array()) bad_page("no records");
    PulledPage out;
    for (auto &rec : page["records"]) {
        PulledRecord r;
        r.item = rec.value("item", "");
        r.gencount = get_int(rec, "gencount");
        r.deleted = rec.value("deleted", false);
        if (!r.deleted) {
            if (!rec.contains("blob") || !rec["blob"].is_string()) bad_page("a live record without a blob");
            r.blob = base64_decode(rec["blob"].get<std::string>());
            if (!r.blob) bad_page("bad base64");
        }
        out.records.push_back(std::move(r));
    }
    out.more = page.value("more", false);
    out.next_since = get_int(page, "next_since");
    out.gencount = get_int(page, "gencount");
    return out;
}

}  // namespace

std::optional<PulledPage> scan_page(const std::string &text)
{
    PulledPage out;
    if (scan(text, out) != Scan::page) return std::nullopt;
    return out;
}

PulledPage parse_page(const std::string &text)
{
    {
        PulledPage out;
        switch (scan(text, out)) {
        case Scan::page: return out;
        case Scan::not_json: bad_page("a pull page that is not JSON");  // json_scan refuses what nlohmann refuses
        case Scan::other: break;
        }
    }
    nlohmann::json page = nlohmann::json::parse(text, nullptr, false);
    if (page.is_discarded()) bad_page("a pull page that is not JSON");
    try {
        return from_tree(page);
    } catch (const nlohmann::json::exception &e) {
        bad_page(e.what());
    }
}

}  // namespace credsync
