// Unit tests of the client library's pure parts: the cryptographic formats,
// the merge of entry versions, the digest, the name rules. Built by
// `make -C client unit-tests`, run by test/suites/70-client-unit.sh. Prints
// ok/not ok lines. With arguments "digest UUID GENCOUNT ...", prints the zone
// digest of those records instead (the suite compares it with Python's); with
// "login-proof ...", a login key and signature (see main()).
#include "content.h"
#include "crypto.h"
#include "db.h"
#include "digest.h"
#include "error.h"
#include "names.h"
#include "page.h"

#include "credsync/vault.h"

#include <nlohmann/json.hpp>
#include <sodium.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <unistd.h>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace credsync;

static int failures = 0;

static void check(const std::string &name, bool cond)
{
    std::printf("%s - %s\n", cond ? "ok" : "not ok", name.c_str());
    if (!cond) failures++;
}

static Bytes b(const std::string &s) { return Bytes(s.begin(), s.end()); }

static void t_kdf()
{
    auto i = crypto::Kdf::preset("interactive"), m = crypto::Kdf::preset("moderate"), s = crypto::Kdf::preset("sensitive");
    check("kdf presets are libsodium's Argon2id presets",
          i && m && s && i->ops == crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE &&
              m->mem == crypto_pwhash_argon2id_MEMLIMIT_MODERATE && s->mem == crypto_pwhash_argon2id_MEMLIMIT_SENSITIVE &&
              !crypto::Kdf::preset("fast"));
    auto j = i->to_json();
    check("kdf JSON is {alg: argon2id13, ops, mem}",
          j["alg"] == "argon2id13" && j["ops"] == i->ops && j["mem"] == i->mem && j.size() == 3);
    auto refused = [](const nlohmann::json &k) {
        try {
            crypto::Kdf::from_json(k);
            return false;
        } catch (const Error &) {
            return true;
        }
    };
    check("kdf from the server: another algorithm, absurd costs and wrong types are refused",
          refused({{"alg", "argon2i13"}, {"ops", 3}, {"mem", 67108864}}) &&
              refused({{"alg", "argon2id13"}, {"ops", 3}, {"mem", 1ULL << 40}}) &&
              refused({{"alg", "argon2id13"}, {"ops", 1000000}, {"mem", 67108864}}) &&
              refused({{"alg", "argon2id13"}, {"ops", 0}, {"mem", 67108864}}) &&
              refused({{"alg", "argon2id13"}, {"ops", "3"}, {"mem", 67108864}}) && refused(nlohmann::json()) &&
              !refused({{"alg", "argon2id13"}, {"ops", 2}, {"mem", 67108864}}));
}

static void t_derive_and_login()
{
    auto kdf = *crypto::Kdf::preset("interactive");
    Bytes salt(16, 7), salt2(16, 8);
    auto d1 = crypto::derive("pw", salt, kdf), d2 = crypto::derive("pw", salt, kdf);
    auto d3 = crypto::derive("pw", salt2, kdf), d4 = crypto::derive("pW", salt, kdf);
    check("derive: deterministic; salt and password change both keys",
          d1.login_seed.b == d2.login_seed.b && d1.wrap_key.b == d2.wrap_key.b && d1.login_seed.b != d3.login_seed.b &&
              d1.wrap_key.b != d4.wrap_key.b && d1.login_seed.b != d1.wrap_key.b);
    // The same 64 bytes straight from libsodium: first half seed, second half wrap key.
    uint8_t out[64];
    if (crypto_pwhash(out, 64, "pw", 2, salt.data(), kdf.ops, kdf.mem, crypto_pwhash_ALG_ARGON2ID13) != 0) std::memset(out, 0, 64);
    check("derive: Argon2id13 -> 64 bytes, [0,32) login seed, [32,64) wrap key",
          std::memcmp(out, d1.login_seed.b.data(), 32) == 0 && std::memcmp(out + 32, d1.wrap_key.b.data(), 32) == 0);
    auto keys = crypto::login_keys(d1.login_seed);
    uint8_t pk[32], sk[64];
    crypto_sign_seed_keypair(pk, sk, out);
    check("login key pair: crypto_sign_seed_keypair of the first half", std::memcmp(pk, keys.pk.data(), 32) == 0);
    Bytes challenge(32, 0xab);
    Bytes msg = crypto::login_message(challenge, "alice");
    Bytes expect = b("credsync login v1\n");
    expect.insert(expect.end(), challenge.begin(), challenge.end());
    for (char c : std::string("alice")) expect.push_back(static_cast<uint8_t>(c));
    check("login message: \"credsync login v1\\n\" || challenge || name", msg == expect);
    Bytes sig = crypto::sign(keys, msg);
    check("login signature: Ed25519, verifies for this message only",
          sig.size() == 64 && crypto_sign_verify_detached(sig.data(), msg.data(), msg.size(), keys.pk.data()) == 0 &&
              crypto_sign_verify_detached(sig.data(), crypto::login_message(challenge, "alicf").data(), msg.size(),
                                          keys.pk.data()) != 0);
}

static void t_wrap()
{
    auto w = crypto::Key::random(), other = crypto::Key::random(), master = crypto::Key::random();
    Bytes wrapped = crypto::wrap_master(w, master, "alice");
    auto back = crypto::unwrap_master(w, wrapped, "alice");
    check("wrap: the master key comes back with the wrap key", back && back->b == master.b);
    check("wrap: 73 bytes (version, nonce, key, tag), under the 4 KiB limit", wrapped.size() == 73 && wrapped[0] == 1);
    check("wrap: another key (a wrong password) does not open it", !crypto::unwrap_master(other, wrapped, "alice"));
    check("wrap: bound to the account name", !crypto::unwrap_master(w, wrapped, "bob"));
    Bytes flipped = wrapped;
    flipped[40] ^= 1;
    check("wrap: a flipped bit is refused", !crypto::unwrap_master(w, flipped, "alice"));
    check("wrap: a truncated blob is refused", !crypto::unwrap_master(w, Bytes(wrapped.begin(), wrapped.begin() + 40), "alice"));
}

static void t_entries()
{
    auto master = crypto::Key::random();
    auto zk = crypto::zone_key(master, "default"), zk2 = crypto::zone_key(master, "work");
    check("zone keys: deterministic, one per zone, not the master key",
          zk.b == crypto::zone_key(master, "default").b && zk.b != zk2.b && zk.b != master.b);
    Uuid item = uuid_random(), item2 = uuid_random();
    auto ad = crypto::entry_ad("alice", "default", item);
    Bytes want = b("credsync entry v1\n");
    put_be32(want, 5);
    for (char c : std::string("alice")) want.push_back(static_cast<uint8_t>(c));
    put_be32(want, 7);
    for (char c : std::string("default")) want.push_back(static_cast<uint8_t>(c));
    want.insert(want.end(), item.begin(), item.end());
    check("associated data: label || be32 len || user || be32 len || zone || item(16)", ad == want);
    Bytes blob = crypto::seal_entry(zk, ad, "{\"x\":1}");
    auto plain = crypto::open_entry(zk, ad, blob);
    check("seal/open round trip", plain && *plain == "{\"x\":1}");
    check("open: another item (a swap) fails", !crypto::open_entry(zk, crypto::entry_ad("alice", "default", item2), blob));
    check("open: another zone (a move) fails, even with that zone's key",
          !crypto::open_entry(zk, crypto::entry_ad("alice", "work", item), blob) &&
              !crypto::open_entry(zk2, crypto::entry_ad("alice", "work", item), blob));
    check("open: another user fails", !crypto::open_entry(zk, crypto::entry_ad("alicf", "default", item), blob));
    // Length-prefixed fields: ("ab","c") and ("a","bc") must differ.
    check("associated data: fields cannot slide into each other",
          crypto::entry_ad("ab", "c", item) != crypto::entry_ad("a", "bc", item));
    bool all_flips_fail = true;
    for (size_t i = 0; i < blob.size(); i += 7) {
        Bytes f = blob;
        f[i] ^= 0x40;
        if (crypto::open_entry(zk, ad, f)) all_flips_fail = false;
    }
    check("open: a flipped bit anywhere fails", all_flips_fail);
    bool buckets = true;
    for (size_t n : {0, 1, 100, 255, 256, 511, 512, 4000, 70000}) {
        size_t expect = n < 256 ? 256 : n < 512 ? 512 : n < 1024 ? 1024 : n < 4096 ? 4096 : 131072;
        Bytes s = crypto::seal_entry(zk, ad, std::string(n, 'a'));
        auto back = crypto::open_entry(zk, ad, s);
        if (crypto::padded_size(n) != expect || s.size() != expect + crypto::kSealOverhead || !back || back->size() != n)
            buckets = false;
    }
    check("padding: plaintexts padded to the next power of two above their length (at least 256), unpadded back", buckets);
    Bytes a1 = crypto::seal_entry(zk, ad, "same"), a2 = crypto::seal_entry(zk, ad, "same");
    check("sealing twice gives different blobs (random nonce)", a1 != a2);

    // check_entry(): the answer of open_entry(), the plaintext only lent to
    // the checker (a first sync checks every entry and keeps none).
    static std::string lent;
    auto keep = [](std::string_view p) {
        lent.assign(p.data(), p.size());
        return true;
    };
    auto refuse = [](std::string_view) { return false; };
    bool agree = true;
    auto compare = [&](const crypto::Key &k, const Bytes &a, const Bytes &bl) {
        lent = "(not called)";
        auto opened = crypto::open_entry(k, a, bl);
        bool checked = crypto::check_entry(k, a, bl, keep);
        if (checked != opened.has_value() || (opened && lent != *opened) || crypto::check_entry(k, a, bl, refuse))
            agree = false;
    };
    compare(zk, ad, blob);
    compare(zk, crypto::entry_ad("alice", "default", item2), blob);
    compare(zk2, crypto::entry_ad("alice", "work", item), blob);
    for (size_t i = 0; i < blob.size(); i += 7) {
        Bytes f = blob;
        f[i] ^= 0x40;
        compare(zk, ad, f);
    }
    for (size_t n : {0, 255, 256, 4000}) compare(zk, ad, crypto::seal_entry(zk, ad, std::string(n, 'b')));
    compare(zk, ad, Bytes());
    check("check_entry: true exactly where open_entry opens, with the same plaintext lent, and false when the "
          "checker refuses",
          agree);
}

// Random versions of one entry: each device edits its copy, sometimes merges another's.
static void t_merge()
{
    std::mt19937 rng(42);
    const char *fields[] = {"title", "username", "url", "notes", "password"};
    bool comm = true, assoc = true, idem = true, hist = true;
    for (int round = 0; round < 300; round++) {
        Content base = make_content({{"title", "t"}, {"password", "p0"}}, "dev0", 1000);
        std::vector<Content> v(4, base);
        std::vector<std::string> pws = {"p0"};
        for (int k = 0; k < 12; k++) {
            size_t d = rng() % v.size();
            if (rng() % 3 == 0) {
                v[d] = merge(v[d], v[rng() % v.size()]);
                continue;
            }
            std::map<std::string, std::string> change;
            std::string f = fields[rng() % 5];
            std::string val = "v" + std::to_string(rng() % 1000);
            change[f] = val;
            if (f == "password") pws.push_back(val);
            apply_edit(v[d], change, "dev" + std::to_string(d), 1000 + static_cast<int64_t>(rng() % 50));
        }
        Content ab = merge(v[0], v[1]), ba = merge(v[1], v[0]);
        if (!(ab == ba)) comm = false;
        if (!(merge(merge(v[0], v[1]), v[2]) == merge(v[0], merge(v[1], v[2])))) assoc = false;
        if (!(merge(ab, v[1]) == ab) || !(merge(v[2], v[2]) == v[2])) idem = false;
        Content all = merge(merge(v[0], v[1]), merge(v[2], v[3]));
        for (auto &p : pws) {
            bool found = all.get("password") == p;
            for (auto &h : all.history) found = found || h.password == p;
            // A password set and then replaced on the same device before any merge is in that device's history too.
            if (!found) hist = false;
        }
    }
    check("merge is commutative", comm);
    check("merge is associative", assoc);
    check("merge is idempotent", idem);
    check("merge: every password any version held is the password or in the history", hist);

    Content c = make_content({{"title", "t"}, {"password", "old"}}, "a", 5000);
    Content d = c;
    apply_edit(c, {{"password", "from-a"}}, "a", 6000);
    apply_edit(d, {{"password", "from-b"}}, "b", 7000);
    Content m = merge(c, d);
    check("merge: both changed the password: the later wins, the loser and the old one go to the history",
          m.get("password") == "from-b" && m.history.size() == 2 && m.history.begin()->password == "old" &&
              m.history.rbegin()->password == "from-a");
    Content e = make_content({{"title", "t"}}, "a", 10000);
    apply_edit(e, {{"notes", "n"}}, "b", 1);  // b's clock is far behind
    check("an edit's stamp is later than every stamp it has seen, whatever the clock says",
          e.fields["notes"].s.t > 10000);
    check("an edit that changes nothing changes nothing", !apply_edit(e, {{"notes", "n"}}, "b", 20000));
    Content f = make_content({{"title", "t"}}, "a", 1), g = f;
    apply_edit(g, {{"url", "u"}}, "b", 2);
    check("seen_by: an older version is seen by the newer, not the other way",
          seen_by(f, g) && !seen_by(g, f) && seen_by(g, g));
    Content h = f;
    apply_edit(h, {{"notes", "x"}}, "c", 3);
    check("seen_by: concurrent versions have not seen each other", !seen_by(g, h) && !seen_by(h, g));
    auto back = Content::from_json(m.to_json());
    check("an entry survives its JSON form", back && *back == m);
    check("a malformed entry is refused", !Content::from_json("{\"v\":2}") && !Content::from_json("[]") &&
                                              !Content::from_json("{\"v\":1,\"c\":1,\"f\":{\"title\":[1]},\"h\":[],\"vv\":{}}"));
}

static void t_base64()
{
    std::mt19937 rng(7);
    bool round = true;
    for (int n = 0; n < 300; n++) {
        Bytes in(static_cast<size_t>(n));
        for (auto &c : in) c = static_cast<uint8_t>(rng());
        auto back = base64_decode(base64_encode(in));
        if (!back || *back != in) round = false;
    }
    check("base64: every length round-trips", round);
    check("base64: malformed input is refused (bad characters, length, padding, non-canonical bits)",
          !base64_decode("QQ") && !base64_decode("Q===") && !base64_decode("QQ=A") && !base64_decode("QR==") &&
              !base64_decode("QUJD\n") && !base64_decode("Q-Jj") && !base64_decode("=QUJ") && base64_decode("QQ==") &&
              *base64_decode("QQ==") == Bytes{'A'} && base64_decode("") && base64_decode("")->empty());
}

// The fast paths of page.cpp and content.cpp (json_scan.h) must decide
// exactly as the nlohmann readers they stand in front of: these references
// are those readers as they were before the fast paths (client 648c22c).
namespace ref {
using nlohmann::json;

std::optional<PulledPage> page(const std::string &text)
{
    json page = json::parse(text, nullptr, false);
    if (page.is_discarded()) return std::nullopt;
    try {
        auto get_int = [](const json &j, const char *key) -> std::optional<int64_t> {
            if (!j.is_object() || !j.contains(key) || !j[key].is_number_integer()) return std::nullopt;
            return j[key].get<int64_t>();
        };
        if (!page.contains("records") || !page["records"].is_array()) return std::nullopt;
        PulledPage out;
        for (auto &rec : page["records"]) {
            PulledRecord r;
            r.item = rec.value("item", "");
            auto g = get_int(rec, "gencount");
            if (!g) return std::nullopt;
            r.gencount = *g;
            r.deleted = rec.value("deleted", false);
            if (!r.deleted) {
                if (!rec.contains("blob") || !rec["blob"].is_string()) return std::nullopt;
                r.blob = base64_decode(rec["blob"].get<std::string>());
                if (!r.blob) return std::nullopt;
            }
            out.records.push_back(r);
        }
        out.more = page.value("more", false);
        auto n = get_int(page, "next_since"), g = get_int(page, "gencount");
        if (!n || !g) return std::nullopt;
        out.next_since = *n;
        out.gencount = *g;
        return out;
    } catch (const json::exception &) {
        return std::nullopt;
    }
}

std::optional<Content> content(const std::string &text)
{
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
}  // namespace ref

static bool same_page(const std::optional<PulledPage> &a, const std::optional<PulledPage> &b)
{
    if (!a || !b) return !a && !b;
    if (a->more != b->more || a->next_since != b->next_since || a->gencount != b->gencount ||
        a->records.size() != b->records.size())
        return false;
    for (size_t i = 0; i < a->records.size(); i++) {
        auto &x = a->records[i], &y = b->records[i];
        if (x.item != y.item || x.gencount != y.gencount || x.deleted != y.deleted || x.blob != y.blob) return false;
    }
    return true;
}

static std::optional<PulledPage> fast_or_fallback(const std::string &text)
{
    try {
        return parse_page(text);
    } catch (const Error &) {
        return std::nullopt;
    }
}

// Random edits of a valid text: a byte changed, removed, doubled, or one of
// the characters JSON cares about put in.
static std::string mutate(std::string s, std::mt19937 &rng)
{
    static const char special[] = "{}[]\",:\\ 0123456789.eE-+tfnul\x80\xff\xc3\xa9\x01";
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < edits && !s.empty(); k++) {
        size_t at = rng() % s.size();
        char c = special[rng() % (sizeof special - 1)];
        switch (rng() % 4) {
        case 0: s[at] = c; break;
        case 1: s.erase(at, 1); break;
        case 2: s.insert(at, 1, s[at]); break;
        default: s.insert(at, 1, c); break;
        }
    }
    return s;
}

static void t_fast_paths()
{
    const std::string blob = base64_encode(b("0123456789abcdef-a-blob"));
    const std::string page = "{\"records\":[{\"item\":\"0f0e0d0c-0b0a-4908-8706-050403020100\",\"gencount\":7,"
                             "\"deleted\":false,\"blob\":\"" + blob + "\"},{\"item\":\"00000000-0000-4000-8000-0000000000a1\","
                             "\"gencount\":9,\"deleted\":true,\"blob\":null}],\"more\":true,\"next_since\":9,\"gencount\":12}";
    check("page: the scanner reads the server's page", scan_page(page) && same_page(scan_page(page), ref::page(page)));
    const std::vector<std::string> hostile = {
        // whitespace and another key order: still the fast path, same answer
        " { \"gencount\" : 12 ,\n\"next_since\":9, \"more\":false,\"records\":[ ] } ",
        // an escape: the fast path gives up, nlohmann decodes it
        "{\"records\":[{\"item\":\"\\u0030f0e0d0c-0b0a-4908-8706-050403020100\",\"gencount\":1,\"blob\":\"" + blob +
            "\"}],\"more\":false,\"next_since\":1,\"gencount\":1}",
        // an unknown key (ignored by nlohmann), a float, a huge number, a duplicate key
        "{\"records\":[],\"more\":false,\"next_since\":1,\"gencount\":1,\"extra\":[1,{\"a\":null}]}",
        "{\"records\":[],\"more\":false,\"next_since\":1.0,\"gencount\":1}",
        "{\"records\":[],\"more\":false,\"next_since\":18446744073709551615,\"gencount\":1}",
        "{\"records\":[],\"more\":true,\"more\":false,\"next_since\":1,\"gencount\":1}",
        "{\"records\":[{\"item\":\"x\",\"gencount\":1,\"blob\":\"" + blob + "\"}],\"records\":[],\"next_since\":1,\"gencount\":1}",
        // no blob on a live record, bad base64, trailing bytes, invalid UTF-8, a control character
        "{\"records\":[{\"item\":\"x\",\"gencount\":1,\"blob\":null}],\"next_since\":1,\"gencount\":1}",
        "{\"records\":[{\"item\":\"x\",\"gencount\":1,\"blob\":\"QR==\"}],\"next_since\":1,\"gencount\":1}",
        "{\"records\":[],\"next_since\":1,\"gencount\":1} x",
        "{\"records\":[{\"item\":\"\xff\",\"gencount\":1,\"deleted\":true}],\"next_since\":1,\"gencount\":1}",
        "{\"records\":[{\"item\":\"a\x01\",\"gencount\":1,\"deleted\":true}],\"next_since\":1,\"gencount\":1}",
        "{\"records\":[{\"item\":\"x\",\"gencount\":01,\"deleted\":true}],\"next_since\":1,\"gencount\":1}",
        "", "[]", "{}", "null",
        // a tombstone's blob is not read, whatever it is; a record or page that is not an object
        "{\"records\":[{\"item\":\"x\",\"gencount\":1,\"deleted\":true,\"blob\":5}],\"next_since\":1,\"gencount\":1}",
        "{\"records\":[{\"item\":\"x\",\"gencount\":1,\"blob\":\"QR==\",\"deleted\":true}],\"next_since\":1,\"gencount\":1}",
        "{\"records\":[5],\"next_since\":1,\"gencount\":1}", "{\"records\":{},\"next_since\":1,\"gencount\":1}",
        // gencount 2^64-1: nlohmann's get<int64_t> wraps it; a NUL byte ends nlohmann's input
        "{\"records\":[],\"next_since\":1,\"gencount\":18446744073709551615}",
        std::string("{\"records\":[],\"next_since\":1,\"gencount\":1}") + '\0' + "x",
        std::string("{\"records\":[],\"next_since\":1,\"gencount\":1") + '\0' + "}"};
    bool all_same = true;
    for (auto &h : hostile)
        if (!same_page(fast_or_fallback(h), ref::page(h))) {
            all_same = false;
            std::printf("# page differs: %s\n", h.c_str());
        }
    check("page: hostile texts read as the nlohmann reader reads them (escapes, floats, duplicates, bad UTF-8, ...)",
          all_same);
    std::mt19937 rng(12);
    int differ = 0, accepted = 0;
    for (int n = 0; n < 20000; n++) {
        std::string m = mutate(page, rng);
        auto ours = fast_or_fallback(m);
        if (ours) accepted++;
        if (!same_page(ours, ref::page(m)) && differ++ < 3) std::printf("# page differs: %s\n", m.c_str());
    }
    check("page: 20000 random edits of a page read as the nlohmann reader reads them (" + std::to_string(accepted) +
              " still pages)", differ == 0);

    Content c = make_content({{"title", "Mail"}, {"username", "zoë"}, {"password", "p\"w\\1"}}, "dev-a", 1000);
    apply_edit(c, {{"password", "new"}}, "dev-b", 2000);
    const std::string text = c.to_json();
    differ = 0;
    accepted = 0;
    for (int n = 0; n < 20000; n++) {
        std::string m = n == 0 ? text : mutate(text, rng);
        auto ours = Content::from_json(m), theirs = ref::content(m);
        if (ours) accepted++;
        if ((ours.has_value() != theirs.has_value() || (ours && *ours != *theirs) ||
             Content::well_formed(m) != theirs.has_value()) &&
            differ++ < 3)
            std::printf("# entry differs: %s\n", m.c_str());
    }
    const std::string plain = make_content({{"title", "t"}}, "d", 5).to_json();
    check("entries: 20000 random edits of an entry read as the nlohmann reader reads them, and well_formed() says "
          "which are entries (" + std::to_string(accepted) + " still entries)",
          differ == 0 && Content::from_json(plain) == ref::content(plain) && Content::well_formed(plain));
    const std::vector<std::string> entries = {
        "{\"v\":1,\"c\":1,\"f\":{\"title\":[\"a\",1,\"d\"]},\"f\":{\"url\":[\"u\",1,\"d\"]},\"h\":[],\"vv\":{}}",
        "{\"v\":1,\"c\":1,\"f\":{\"title\":[\"a\",1,\"d\"],\"title\":[\"b\",2,\"d\"]},\"h\":[],\"vv\":{\"d\":1,\"d\":2}}",
        "{\"v\":1.0,\"c\":1,\"f\":{},\"h\":[],\"vv\":{}}",
        "{\"v\":1,\"c\":1,\"f\":{},\"h\":[],\"vv\":{},\"x\":true}",
        "{\"v\":1,\"c\":1,\"f\":{\"title\":[\"\\u00e9\\n\",1,\"d\"]},\"h\":[],\"vv\":{}}",
        "{\"v\":1,\"c\":1,\"f\":{\"title\":[\"\xc3\xa9\",1,\"d\"]},\"h\":[],\"vv\":{}}",
        "{\"v\":1,\"c\":1,\"f\":{\"title\":[\"\xed\xa0\x80\",1,\"d\"]},\"h\":[],\"vv\":{}}",
        "{\"v\":1,\"c\":1,\"f\":{},\"h\":[[\"p\",1]],\"vv\":{}}",
        "{\"v\":1,\"c\":1,\"f\":{},\"h\":[],\"vv\":{\"d\":-1}}",
        "{\"v\":1,\"c\":1,\"f\":[],\"h\":[],\"vv\":{}}",
        "{\"c\":1,\"f\":{},\"h\":[],\"vv\":{}}",
        // what nlohmann's get<> and items() make of other types: v true is 1, a float count is cut, null
        // iterates as nothing, an array's items are named by index, a primitive's by ""
        "{\"v\":true,\"c\":1,\"f\":{},\"h\":[],\"vv\":{}}", "{\"v\":1,\"c\":1.5,\"f\":null,\"h\":null,\"vv\":null}",
        "{\"v\":1,\"c\":1,\"f\":[[\"a\",1,\"d\"]],\"h\":{\"x\":[\"p\",1,\"d\"]},\"vv\":[3,4]}",
        "{\"v\":1,\"c\":1,\"f\":{},\"h\":[],\"vv\":5}", "{\"v\":1,\"c\":1,\"f\":{},\"h\":[],\"vv\":{\"d\":2.5}}",
        "{\"v\":1,\"c\":1,\"f\":{\"t\":[\"a\",18446744073709551615,\"d\"]},\"h\":[],\"vv\":{\"d\":18446744073709551615}}",
        "{\"v\":1,\"c\":1,\"f\":{\"t\":[\"a\",1,\"d\",\"e\"]},\"h\":[[\"p\",1,\"d\"],[\"p\",1,\"d\"]],\"vv\":{}}",
        std::string("{\"v\":1,\"c\":1,\"f\":{},\"h\":[],\"vv\":{}}") + '\0' + "x",
        std::string("{\"v\":1,\"c\":1,\"f\":{\"t\":[\"a") + '\0' + "\",1,\"d\"]},\"h\":[],\"vv\":{}}"};
    bool entries_same = true;
    for (auto &e : entries) {
        auto ours = Content::from_json(e), theirs = ref::content(e);
        if (ours.has_value() != theirs.has_value() || (ours && *ours != *theirs) ||
            Content::well_formed(e) != theirs.has_value()) {
            entries_same = false;
            std::printf("# entry differs: %s\n", e.c_str());
        }
    }
    check("entries: hostile texts read as the nlohmann reader reads them, well_formed() alike (duplicate keys, "
          "escapes, UTF-8, arity, ...)",
          entries_same);
}

static void t_digest_remove()
{
    // A first sync keeps the zone's digest as it writes rows, and takes back
    // the row of an item listed again (client/src/sync.cpp).
    std::vector<Uuid> ids;
    for (int i = 0; i < 50; i++) ids.push_back(uuid_random());
    Digest all, kept;
    for (int i = 0; i < 50; i++) all.add(ids[i], 1000 + i * 977);  // sums that carry across bytes
    for (int i = 0; i < 50; i++)
        if (i % 3) kept.add(ids[i], 1000 + i * 977);
    for (int i = 0; i < 50; i += 3) all.remove(ids[i], 1000 + i * 977);
    Digest empty, back;
    back.add(ids[0], 7);
    back.remove(ids[0], 7);
    check("digest: remove() undoes add() (modulo 2^256, with borrows)", all.hex() == kept.hex() && back.hex() == empty.hex());
}

static void t_uuid_parse()
{
    // uuid_parse reads digits through a table (client/src/bytes.cpp): every
    // text of 36 characters with one character changed, against the rule.
    Uuid u = uuid_random();
    std::string t = uuid_text(u);
    bool ok = uuid_parse(t) == u;
    std::string upper = t;
    for (auto &c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    ok = ok && uuid_parse(upper) == u;
    for (size_t i = 0; i < t.size() && ok; i++)
        for (int c = 0; c < 256; c++) {
            std::string x = t;
            x[i] = static_cast<char>(c);
            bool hyphen = i == 8 || i == 13 || i == 18 || i == 23;
            bool valid = hyphen ? c == '-' : std::isxdigit(c) != 0;
            if (uuid_parse(x).has_value() != valid) ok = false;
        }
    ok = ok && !uuid_parse(t + "0") && !uuid_parse(t.substr(1)) && !uuid_parse("");
    check("uuid_parse: hex digits of either case at the 32 places, hyphens at 8/13/18/23, nothing else", ok);
}

static void t_names()
{
    check("zones: [A-Za-z0-9_.-], 1 to 64",
          valid_zone("default") && valid_zone("a.b-c_9") && !valid_zone("") && !valid_zone(std::string(65, 'a')) &&
              !valid_zone("a/b") && !valid_zone("a b") && !valid_zone("zoné"));
    check("names: UTF-8 without control characters, 1 to 256 bytes",
          valid_name("alice") && valid_name("zoë") && !valid_name("") && !valid_name("a\nb") &&
              !valid_name(std::string(257, 'a')) && !valid_name("\xc0\xaf") && !valid_name("\xed\xa0\x80"));
    check("device ids are one path segment", valid_device_id("42") && valid_device_id("3f2a-b") &&
                                                 !valid_device_id("../x") && !valid_device_id(""));
}

// A replaceable transaction commits with synchronous=NORMAL and leaves the
// connection at FULL after it, committed, rolled back or failed (in a
// statement, in BEGIN, in COMMIT): every other commit must still wait for the
// disk.
static void t_replaceable_commit()
{
    char dir[] = "/tmp/credsync-unit-XXXXXX";
    if (!mkdtemp(dir)) {
        check("replaceable commit: a scratch directory", false);
        return;
    }
    const std::string path = std::string(dir) + "/t.db";
    bool ok = true;
    {
        Db db(path);
        auto level = [&] {
            Stmt s(db.raw(), "PRAGMA synchronous");
            s.step();
            return s.int64(0);
        };
        db.exec("CREATE TABLE t (x INTEGER)");
        db.exec("CREATE TABLE p (id INTEGER PRIMARY KEY)");
        db.exec("CREATE TABLE c (pid INTEGER REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED)");
        ok = ok && level() == 2;  // FULL
        {
            Txn t(db, Commit::replaceable);
            ok = ok && level() == 1;  // NORMAL while it lasts
            db.exec("INSERT INTO t VALUES (1)");
            t.commit();
        }
        ok = ok && level() == 2;
        {
            Txn t(db, Commit::replaceable);
            db.exec("INSERT INTO t VALUES (2)");
        }  // rolled back
        ok = ok && level() == 2;
        try {
            Txn t(db, Commit::replaceable);
            db.exec("INSERT INTO nowhere VALUES (3)");
            t.commit();
        } catch (const Error &) {
        }
        ok = ok && level() == 2;
        bool begin_failed = false, commit_failed = false;
        {
            Db other(path);  // holds the write lock: BEGIN IMMEDIATE fails at once
            other.exec("BEGIN IMMEDIATE");
            sqlite3_busy_timeout(db.raw(), 0);
            try {
                Txn t(db, Commit::replaceable);
            } catch (const Error &) {
                begin_failed = true;
            }
            sqlite3_busy_timeout(db.raw(), 30000);
            other.exec("ROLLBACK");
        }
        ok = ok && begin_failed && level() == 2;
        try {
            Txn t(db, Commit::replaceable);
            db.exec("INSERT INTO c VALUES (99)");  // checked at COMMIT, which fails
            t.commit();
        } catch (const Error &) {
            commit_failed = true;
        }
        ok = ok && commit_failed && level() == 2;
        {
            Txn t(db);
            ok = ok && level() == 2;
            t.commit();
        }
        Stmt s(db.raw(), "SELECT group_concat(x) FROM t");
        s.step();
        ok = ok && s.text(0) == "1";
        Stmt n(db.raw(), "SELECT count(*) FROM c");
        n.step();
        ok = ok && n.int64(0) == 0;
    }
    for (const char *f : {"/t.db", "/t.db-wal", "/t.db-shm"}) ::unlink((std::string(dir) + f).c_str());
    ::rmdir(dir);
    check("replaceable commit: synchronous=NORMAL only for its transaction, FULL again after a commit, a rollback "
          "or a failure (in a statement, in BEGIN, in COMMIT)",
          ok);
}

int main(int argc, char **argv)
{
    crypto::init();
    if (argc > 1 && std::string(argv[1]) == "digest") {
        Digest d;
        for (int i = 2; i + 1 < argc; i += 2) d.add(*uuid_parse(argv[i]), std::stoll(argv[i + 1]));
        std::printf("%s\n", d.hex().c_str());
        return 0;
    }
    // login-proof PASSWORD SALT_HEX OPS MEM NAME [CHALLENGE_HEX]: the login
    // public key (and the signature over the challenge) as hex, for
    // test/client/accounts.py to talk to the extension's SQL login directly.
    if (argc > 1 && std::string(argv[1]) == "login-proof" && argc >= 7) {
        crypto::Kdf kdf{std::stoull(argv[4]), static_cast<size_t>(std::stoull(argv[5]))};
        auto d = crypto::derive(argv[2], *hex_decode(argv[3]), kdf);
        auto keys = crypto::login_keys(d.login_seed);
        std::printf("%s", hex_encode(keys.pk.data(), keys.pk.size()).c_str());
        if (argc >= 8) {
            Bytes sig = crypto::sign(keys, crypto::login_message(*hex_decode(argv[7]), argv[6]));
            std::printf(" %s", hex_encode(sig.data(), sig.size()).c_str());
        }
        std::printf("\n");
        return 0;
    }
    // populate HOME N: adds N entries through the library (test/client/bench.py).
    if (argc == 4 && std::string(argv[1]) == "populate") {
        Vault v(Options{argv[2], ""});
        for (long i = 0, n = std::stol(argv[3]); i < n; i++) {
            NewEntry e;
            e.title = "entry " + std::to_string(i);
            e.username = "user" + std::to_string(i);
            e.url = "https://site" + std::to_string(i) + ".example";
            e.password = Vault::generate_password(24);
            v.add(e);
        }
        return 0;
    }
    t_kdf();
    t_derive_and_login();
    t_wrap();
    t_entries();
    t_merge();
    t_base64();
    t_fast_paths();
    t_names();
    t_digest_remove();
    t_uuid_parse();
    t_replaceable_commit();
    return failures ? 1 : 0;
}
