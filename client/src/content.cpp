#include "content.h"

#include "json_scan.h"

#include <nlohmann/json.hpp>

#include <algorithm>

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

// [value, stamp ms, device]
bool scan_triple(Scanner &s, std::string &v, Stamp &st)
{
    std::string_view a, d;
    if (!s.eat('[') || !s.string(a) || !s.eat(',') || !s.integer(st.t) || !s.eat(',') || !s.string(d) || !s.eat(']'))
        return false;
    v.assign(a.data(), a.size());
    st.dev.assign(d.data(), d.size());
    return true;
}

// The fast path of from_json() (json_scan.h): nullopt means "read it with
// nlohmann", which also decides whether the text is an entry at all.
std::optional<Content> scan_content(const std::string &text)
{
    Scanner s(text.data(), text.data() + text.size());
    Content c;
    unsigned seen = 0;  // v c f h vv, each at most once
    auto once = [&](unsigned bit) {
        if (seen & bit) return false;
        seen |= bit;
        return true;
    };
    if (!s.eat('{')) return std::nullopt;
    bool first = true;
    while (!s.eat('}')) {
        if (!first && !s.eat(',')) return std::nullopt;
        first = false;
        std::string_view key;
        if (!s.string(key) || !s.eat(':')) return std::nullopt;
        if (key == "v") {
            int64_t v = 0;
            if (!once(1) || !s.integer(v) || v != 1) return std::nullopt;
        } else if (key == "c") {
            if (!once(2) || !s.integer(c.created)) return std::nullopt;
        } else if (key == "f") {
            if (!once(4) || !s.eat('{')) return std::nullopt;
            bool first_f = true;
            while (!s.eat('}')) {
                if (!first_f && !s.eat(',')) return std::nullopt;
                first_f = false;
                std::string_view name;
                if (!s.string(name) || !s.eat(':')) return std::nullopt;
                Field f;
                if (!scan_triple(s, f.v, f.s)) return std::nullopt;
                c.fields[std::string(name)] = std::move(f);
            }
        } else if (key == "h") {
            if (!once(8) || !s.eat('[')) return std::nullopt;
            bool first_h = true;
            while (!s.eat(']')) {
                if (!first_h && !s.eat(',')) return std::nullopt;
                first_h = false;
                PastPassword p;
                if (!scan_triple(s, p.password, p.s)) return std::nullopt;
                c.history.insert(std::move(p));
            }
        } else if (key == "vv") {
            if (!once(16) || !s.eat('{')) return std::nullopt;
            bool first_v = true;
            while (!s.eat('}')) {
                if (!first_v && !s.eat(',')) return std::nullopt;
                first_v = false;
                std::string_view dev;
                int64_t n = 0;
                if (!s.string(dev) || !s.eat(':') || !s.integer(n) || n < 0) return std::nullopt;
                c.vv[std::string(dev)] = static_cast<uint64_t>(n);
            }
        } else {
            return std::nullopt;
        }
    }
    if (seen != 31 || !s.at_end()) return std::nullopt;
    return c;
}

}  // namespace

// Entries decrypted in a sync are read by the scanner (a first sync opens
// every entry of the vault, and a JSON tree per entry cost more than its
// decryption); anything it does not expect goes through nlohmann.
std::optional<Content> Content::from_json(const std::string &text)
{
    if (auto fast = scan_content(text)) return fast;
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
