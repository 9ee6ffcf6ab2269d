#include "content.h"

#include "json_scan.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <limits>

namespace credsync {

using nlohmann::json;

const char *const kEntryFields[5] = {"title", "username", "url", "notes", "password"};

namespace {

const std::string kEmpty;

// The total order that decides a field: later stamp, then the larger value
// (two devices cannot make the same stamp, but a tie must still be decided
// the same way everywhere).
bool field_less(const Field &a, const Field &b)
{
    if (a.s != b.s) return a.s < b.s;
    return a.v < b.v;
}

void add_to_history(Content &c, const Field &old)
{
    if (!old.v.empty()) c.history.insert(PastPassword{old.v, old.s});
}

}  // namespace

const std::string &Content::get(const std::string &name) const
{
    auto it = fields.find(name);
    return it == fields.end() ? kEmpty : it->second.v;
}

int64_t Content::modified() const
{
    int64_t m = created;
    for (auto &kv : fields) m = std::max(m, kv.second.s.t);
    return m;
}

std::string Content::to_json() const
{
    json f = json::object();
    for (auto &kv : fields) f[kv.first] = json::array({kv.second.v, kv.second.s.t, kv.second.s.dev});
    json h = json::array();
    for (auto &p : history) h.push_back(json::array({p.password, p.s.t, p.s.dev}));
    json v = json::object();
    for (auto &kv : vv) v[kv.first] = kv.second;
    json j = {{"v", 1}, {"c", created}, {"f", f}, {"h", h}, {"vv", v}};
    return j.dump();
}

namespace {

// An entry in the shape to_json() writes, from json_scan's events: {"v":1,
// "c":ms, "f":{name:[value, ms, device], ...}, "h":[[password, ms, device],
// ...], "vv":{device: count, ...}}. Anything else (a key it does not know or
// given twice, a float, a negative count, a value of another type) makes it
// give up, and the text is read through nlohmann instead, which decides.
// With no Content to fill (nullptr) it only follows the shape: the same
// answers, nothing stored (well_formed()).
class ContentSax {
public:
    explicit ContentSax(Content *c) : c_(c) {}

    bool syntax_error() const { return syntax_error_; }

    bool start_object()
    {
        if (depth_ == 0) return enter(1);
        return depth_ == 1 && (slot_ == Slot::f || slot_ == Slot::vv) && enter(2);
    }
    bool start_array()
    {
        if (depth_ == 1) return slot_ == Slot::h && enter(2);
        if (depth_ != 2 || slot_ == Slot::vv) return false;
        pos_ = 0;  // a triple, in f or h
        return enter(3);
    }
    bool key(std::string_view k)
    {
        if (depth_ == 2) {  // a field's name or a device, in f or vv
            if (c_) name_.assign(k.data(), k.size());
            return true;
        }
        Slot s = k == "v" ? Slot::v : k == "c" ? Slot::c : k == "f" ? Slot::f : k == "h" ? Slot::h
               : k == "vv" ? Slot::vv : Slot::none;
        unsigned b = 1u << static_cast<unsigned>(s);
        if (s == Slot::none || (seen_ & b)) return false;  // nlohmann keeps the last: rare, left to it
        seen_ |= b;
        slot_ = s;
        return true;
    }
    bool string(std::string_view v)
    {
        if (depth_ != 3 || (pos_ != 0 && pos_ != 2)) return false;
        if (c_) (pos_ == 0 ? cur_.v : cur_.s.dev).assign(v.data(), v.size());
        pos_++;
        return true;
    }
    bool number_unsigned(unsigned long long n)
    {
        if (depth_ == 2 && slot_ == Slot::vv) {
            if (c_) c_->vv[name_] = n;  // a repeated device: the last, as nlohmann
            return true;
        }
        if (depth_ == 1 && slot_ == Slot::v) return n == 1;
        return n <= static_cast<unsigned long long>(std::numeric_limits<int64_t>::max()) &&
               number_integer(static_cast<long long>(n));
    }
    bool number_integer(long long n)
    {
        if (depth_ == 1 && slot_ == Slot::c) {
            if (c_) c_->created = n;
            return true;
        }
        if (depth_ != 3 || pos_ != 1) return false;
        if (c_) cur_.s.t = n;
        pos_++;
        return true;
    }
    bool number_float(double) { return false; }
    bool boolean(bool) { return false; }
    bool null() { return false; }
    bool end_array()
    {
        if (depth_ == 2) return enter(1);  // h
        if (pos_ != 3) return false;
        if (!c_) return enter(2);
        if (slot_ == Slot::f) c_->fields[name_] = std::move(cur_);  // a repeated name: the last, as nlohmann
        else c_->history.insert(PastPassword{std::move(cur_.v), std::move(cur_.s)});
        cur_ = Field{};
        return enter(2);
    }
    bool end_object()
    {
        if (depth_ == 2) return enter(1);  // f or vv
        depth_ = 0;
        return seen_ == 0x3e;  // v c f h vv
    }
    void parse_error() { syntax_error_ = true; }

private:
    enum class Slot { none, v, c, f, h, vv };

    bool enter(int depth)
    {
        depth_ = depth;
        return true;
    }

    Content *c_;
    int depth_ = 0;  // 1: in the entry, 2: in f, h or vv, 3: in a triple
    Slot slot_ = Slot::none;
    unsigned seen_ = 0;
    std::string name_;
    int pos_ = 0;  // the triple's next element
    Field cur_;
    bool syntax_error_ = false;
};

}  // namespace

// Entries decrypted in a sync are read by the scanner (a first sync opens
// every entry of the vault, and a JSON tree per entry cost more than its
// decryption); anything it does not expect goes through nlohmann.
std::optional<Content> Content::from_json(const std::string &text)
{
    // (json_scan stops where nlohmann would not at a NUL byte: such a text
    // is nlohmann's to read.)
    if (!std::memchr(text.data(), 0, text.size())) {
        Content c;
        ContentSax sax(&c);
        if (json_scan::parse(text, sax)) return c;
        if (sax.syntax_error()) return std::nullopt;  // json_scan refuses what nlohmann refuses
    }
    try {
        json j = json::parse(text);
        if (!j.is_object() || j.value("v", 0) != 1) return std::nullopt;
        Content c;
        c.created = j.at("c").get<int64_t>();
        for (auto &[name, arr] : j.at("f").items()) {
            if (!arr.is_array() || arr.size() != 3) return std::nullopt;
            c.fields[name] = Field{arr[0].get<std::string>(), Stamp{arr[1].get<int64_t>(), arr[2].get<std::string>()}};
        }
        for (auto &arr : j.at("h")) {
            if (!arr.is_array() || arr.size() != 3) return std::nullopt;
            c.history.insert(PastPassword{arr[0].get<std::string>(), Stamp{arr[1].get<int64_t>(), arr[2].get<std::string>()}});
        }
        for (auto &[dev, n] : j.at("vv").items()) c.vv[dev] = n.get<uint64_t>();
        return c;
    } catch (const json::exception &) {
        return std::nullopt;
    }
}

bool Content::well_formed(std::string_view text)
{
    if (!std::memchr(text.data(), 0, text.size())) {
        ContentSax sax(nullptr);
        if (json_scan::parse(text, sax)) return true;
        if (sax.syntax_error()) return false;
    }
    return from_json(std::string(text)).has_value();  // what the scanner leaves to nlohmann
}

Content make_content(const std::map<std::string, std::string> &values, const std::string &dev, int64_t now)
{
    Content c;
    c.created = now;
    for (auto name : kEntryFields) c.fields[name] = Field{"", Stamp{now, dev}};
    for (auto &kv : values) c.fields[kv.first] = Field{kv.second, Stamp{now, dev}};
    c.vv[dev] = 1;
    return c;
}

bool apply_edit(Content &c, const std::map<std::string, std::string> &values, const std::string &dev, int64_t now)
{
    bool changed = false;
    for (auto &kv : values)
        if (c.get(kv.first) != kv.second) changed = true;
    if (!changed) return false;
    Stamp s{std::max(now, c.modified() + 1), dev};
    for (auto &kv : values) {
        if (c.get(kv.first) == kv.second) continue;
        auto &f = c.fields[kv.first];
        if (kv.first == "password") add_to_history(c, f);
        f = Field{kv.second, s};
    }
    c.vv[dev]++;
    return true;
}

Content merge(const Content &a, const Content &b)
{
    Content m;
    m.created = (a.created && b.created) ? std::min(a.created, b.created) : std::max(a.created, b.created);
    m.history = a.history;
    m.history.insert(b.history.begin(), b.history.end());
    m.vv = a.vv;
    for (auto &kv : b.vv) m.vv[kv.first] = std::max(m.vv[kv.first], kv.second);
    m.fields = a.fields;
    for (auto &kv : b.fields) {
        auto it = m.fields.find(kv.first);
        if (it == m.fields.end()) {
            m.fields.insert(kv);
            continue;
        }
        const Field &fa = it->second, &fb = kv.second;
        if (fa == fb) continue;
        const Field &win = field_less(fa, fb) ? fb : fa;
        const Field &lose = field_less(fa, fb) ? fa : fb;
        // Even an equal value goes in: the history must be the same whatever
        // order versions merge in (every password version but the newest).
        if (kv.first == "password") add_to_history(m, lose);
        it->second = win;
    }
    // The history holds past passwords only: a version that is current on one
    // side may be in the other side's history (an edit then a revert).
    auto pw = m.fields.find("password");
    if (pw != m.fields.end()) m.history.erase(PastPassword{pw->second.v, pw->second.s});
    return m;
}

bool seen_by(const Content &a, const Content &b)
{
    for (auto &kv : a.vv) {
        auto it = b.vv.find(kv.first);
        if (it == b.vv.end() || it->second < kv.second) return false;
    }
    return true;
}

bool both_changed(const Content *base, const Content &a, const Content &b)
{
    for (auto &kv : a.fields) {
        auto ib = b.fields.find(kv.first);
        if (ib == b.fields.end() || ib->second == kv.second) continue;
        const Field *f0 = nullptr;
        if (base) {
            auto i0 = base->fields.find(kv.first);
            if (i0 != base->fields.end()) f0 = &i0->second;
        }
        bool a_changed = !f0 || *f0 != kv.second;
        bool b_changed = !f0 || *f0 != ib->second;
        if (a_changed && b_changed && kv.second.v != ib->second.v) return true;
    }
    return false;
}

}  // namespace credsync
