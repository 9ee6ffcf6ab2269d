// An entry's plaintext and how two versions of it merge.
//
// Every field carries the stamp of its last modification (milliseconds and
// the id of the device that made it). Merging two versions keeps, field by
// field, the later modification; when the two passwords differ the losing one
// goes into the password history. The version vector counts each device's
// edits, so that "did this version see that one?" has an answer (an older
// version replayed by the server, a delete concurrent with an edit).
// Merging is commutative, associative and idempotent: devices that have seen
// the same versions hold the same entry, whatever the order (docs/client.md).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>

namespace credsync {

struct Stamp {
    int64_t t = 0;
    std::string dev;
    bool operator<(const Stamp &o) const { return std::tie(t, dev) < std::tie(o.t, o.dev); }
    bool operator==(const Stamp &o) const { return t == o.t && dev == o.dev; }
    bool operator!=(const Stamp &o) const { return !(*this == o); }
};

struct Field {
    std::string v;
    Stamp s;
    bool operator==(const Field &o) const { return v == o.v && s == o.s; }
    bool operator!=(const Field &o) const { return !(*this == o); }
};

struct PastPassword {
    std::string password;
    Stamp s;  // when it was set
    bool operator<(const PastPassword &o) const { return std::tie(s, password) < std::tie(o.s, o.password); }
    bool operator==(const PastPassword &o) const { return s == o.s && password == o.password; }
};

// The fields every entry has; others found in a version from a newer client
// are kept and merged the same way.
extern const char *const kEntryFields[5];  // title, username, url, notes, password

struct Content {
    std::map<std::string, Field> fields;
    std::set<PastPassword> history;
    std::map<std::string, uint64_t> vv;
    int64_t created = 0;

    const std::string &get(const std::string &name) const;
    int64_t modified() const;  // the newest field stamp
    std::string to_json() const;
    static std::optional<Content> from_json(const std::string &text);
    // from_json(text) would give an entry: the same answer, without building it.
    static bool well_formed(std::string_view text);
    bool operator==(const Content &o) const
    {
        return fields == o.fields && history == o.history && vv == o.vv && created == o.created;
    }
    bool operator!=(const Content &o) const { return !(*this == o); }
};

// A new entry made on device dev at time now.
Content make_content(const std::map<std::string, std::string> &values, const std::string &dev, int64_t now);

// Applies a local edit: each changed field gets one stamp later than every
// stamp in the entry (so an edit always wins over what its device had seen,
// whatever the clocks say); a replaced password goes into the history.
// Returns false (and changes nothing) when no value actually changes.
bool apply_edit(Content &c, const std::map<std::string, std::string> &values, const std::string &dev, int64_t now);

// The merge of two versions (see above).
Content merge(const Content &a, const Content &b);

// a has seen nothing b has not: every count of a's version vector is <= b's.
bool seen_by(const Content &a, const Content &b);

// Some field was changed differently on both sides since base (a true
// conflict, resolved by merge()).
bool both_changed(const Content *base, const Content &a, const Content &b);

}  // namespace credsync
