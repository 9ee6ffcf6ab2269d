#include "page.h"

#include "error.h"
#include "json_scan.h"

#include <nlohmann/json.hpp>


namespace credsync {

namespace {

[[noreturn]] void bad_page(const std::string &what)
{
    throw Error(Error::Kind::server, "the server sent an unexpected answer (" + what + ")");
}

// One record object; the blob is decoded straight from the page's text.
bool scan_record(Scanner &s, PulledRecord &r)
{
    if (!s.eat('{')) return false;
    bool have_gencount = false, have_blob = false, first = true;
    std::string_view blob;
    while (!s.eat('}')) {
        if (!first && !s.eat(',')) return false;
        first = false;
        std::string_view key;
        if (!s.string(key) || !s.eat(':')) return false;
        if (key == "item") {
            std::string_view v;
            if (!s.string(v)) return false;
            r.item.assign(v.data(), v.size());
        } else if (key == "gencount") {
            if (!s.integer(r.gencount)) return false;
            have_gencount = true;
        } else if (key == "deleted") {
            if (!s.boolean(r.deleted)) return false;
        } else if (key == "blob") {
            if (s.word("null")) {
                have_blob = false;
            } else {
                if (!s.string(blob)) return false;
                have_blob = true;
            }
        } else {
            return false;
        }
    }
    if (!have_gencount) return false;
    if (!r.deleted) {
        if (!have_blob) return false;  // the slow path says what is wrong
        r.blob.emplace();
        if (!base64_decode_into(blob.data(), blob.size(), *r.blob)) return false;
    }
    return true;
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
    Scanner s(text.data(), text.data() + text.size());
    PulledPage out;
    bool have_records = false, have_next = false, have_gencount = false, first = true;
    if (!s.eat('{')) return std::nullopt;
    while (!s.eat('}')) {
        if (!first && !s.eat(',')) return std::nullopt;
        first = false;
        std::string_view key;
        if (!s.string(key) || !s.eat(':')) return std::nullopt;
        if (key == "records") {
            if (have_records || !s.eat('[')) return std::nullopt;
            have_records = true;
            bool first_rec = true;
            while (!s.eat(']')) {
                if (!first_rec && !s.eat(',')) return std::nullopt;
                first_rec = false;
                out.records.emplace_back();
                if (!scan_record(s, out.records.back())) return std::nullopt;
            }
        } else if (key == "more") {
            if (!s.boolean(out.more)) return std::nullopt;
        } else if (key == "next_since") {
            if (!s.integer(out.next_since)) return std::nullopt;
            have_next = true;
        } else if (key == "gencount") {
            if (!s.integer(out.gencount)) return std::nullopt;
            have_gencount = true;
        } else {
            return std::nullopt;
        }
    }
    if (!s.at_end() || !have_records || !have_next || !have_gencount) return std::nullopt;
    return out;
}

PulledPage parse_page(const std::string &text)
{
    if (auto fast = scan_page(text)) return std::move(*fast);
    nlohmann::json page = nlohmann::json::parse(text, nullptr, false);
    if (page.is_discarded()) bad_page("a pull page that is not JSON");
    try {
        return from_tree(page);
    } catch (const nlohmann::json::exception &e) {
        bad_page(e.what());
    }
}

}  // namespace credsync
