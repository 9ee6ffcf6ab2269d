#include "commands.h"

#include "prompt.h"

#include "credsync/vault.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <unistd.h>

namespace credsync::cli {

using json = nlohmann::ordered_json;

std::string iso(int64_t ms);

namespace {

constexpr size_t kDefaultGenerated = 20;

std::string env(const char *name)
{
    const char *v = std::getenv(name);
    return v ? v : "";
}

std::string default_home()
{
    if (auto h = env("CREDSYNC_HOME"); !h.empty()) return h;
    if (auto x = env("XDG_DATA_HOME"); !x.empty()) return x + "/credsync";
    if (auto h = env("HOME"); !h.empty()) return h + "/.local/share/credsync";
    throw UsageError{"no home: pass --home DIR or set CREDSYNC_HOME"};
}

std::string hostname_label()
{
    char buf[256] = {0};
    if (gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "credsync";
    return buf;
}

std::string kdf_preset()
{
    std::string k = env("CREDSYNC_KDF");
    if (k.empty()) return "moderate";
    if (k != "interactive" && k != "moderate" && k != "sensitive")
        throw UsageError{"CREDSYNC_KDF must be interactive, moderate or sensitive"};
    return k;
}

// A zone as the protocol allows it: 1 to 64 characters of [A-Za-z0-9_.-].
void check_zone(const std::optional<std::string> &zone)
{
    if (!zone) return;
    bool ok = !zone->empty() && zone->size() <= 64;
    for (char c : *zone)
        ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-');
    if (!ok) throw UsageError{"a zone is 1 to 64 characters of A-Z a-z 0-9 _ . -"};
}

void need_positional(const Args &a, size_t n, const char *what)
{
    if (a.positional.size() < n) throw UsageError{"'" + a.command + "' needs " + what};
    if (a.positional.size() > n) throw UsageError{"'" + a.command + "' takes " + what + " only"};
}

// The account password: --password-stdin, then CREDSYNC_PASSWORD, then a
// prompt on the terminal.
std::string account_password(const Args &a, const char *prompt, bool confirm)
{
    if (a.has("--password-stdin")) {
        auto l = read_line();
        if (!l) throw UsageError{"--password-stdin: no line on standard input"};
        return *l;
    }
    if (const char *p = std::getenv("CREDSYNC_PASSWORD")) return p;
    auto p = prompt_secret(prompt);
    if (!p) throw UsageError{"no password: use --password-stdin, set CREDSYNC_PASSWORD, or run on a terminal"};
    if (confirm) {
        auto again = prompt_secret("Repeat it: ");
        if (!again || *again != *p) throw UsageError{"the two passwords differ"};
    }
    return *p;
}

// An entry's password for add/edit: --password-stdin, --generate [N], or a
// prompt on a terminal; nullopt when none was given.
std::optional<std::string> entry_password(const Args &a, const std::string &prompt)
{
    if (a.has("--password-stdin") && a.has("--generate")) throw UsageError{"--password-stdin and --generate exclude each other"};
    if (a.has("--password-stdin")) {
        auto l = read_line();
        if (!l) throw UsageError{"--password-stdin: no line on standard input"};
        return *l;
    }
    if (a.has("--generate")) {
        std::string n = *a.get("--generate");
        size_t len = n.empty() ? kDefaultGenerated : std::strtoul(n.c_str(), nullptr, 10);
        if (len < 4 || len > 1024) throw UsageError{"--generate takes a length from 4 to 1024"};
        return Vault::generate_password(len);
    }
    if (interactive()) {
        auto p = prompt_secret(prompt);
        if (p && !p->empty()) return p;
    }
    return std::nullopt;
}

json entry_json(const Entry &e)
{
    json h = json::array();
    for (auto &p : e.history) h.push_back({{"password", p.password}, {"until", iso(p.until_ms)}});
    return {{"id", e.id},       {"title", e.title}, {"username", e.username}, {"password", e.password},
            {"url", e.url},     {"notes", e.notes}, {"zone", e.zone},         {"modified", iso(e.modified_ms)},
            {"history", h}};
}

void print_json(const json &j) { std::cout << j.dump(2, ' ', false, json::error_handler_t::replace) << "\n"; }

std::string label(const Args &a) { return a.get("--device").value_or(hostname_label()); }

// Progress on a terminal only: one line, rewritten.
struct Progress {
    bool on;
    bool shown = false;
    explicit Progress(bool enabled) : on(enabled && isatty(STDERR_FILENO)) {}
    void update(const std::string &zone, int64_t n)
    {
        if (!on) return;
        std::fprintf(stderr, "\r\033[Ksyncing %s: %lld records", zone.c_str(), static_cast<long long>(n));
        std::fflush(stderr);
        shown = true;
    }
    void clear()
    {
        if (shown) std::fprintf(stderr, "\r\033[K");
        shown = false;
    }
};

int cmd_sync(Vault &v, const Args &a)
{
    need_positional(a, 0, "no arguments");
    Progress progress(!a.json);
    SyncOptions opt;
    opt.full = a.has("--full");
    opt.on_warning = [&](const std::string &m) {
        progress.clear();
        std::fprintf(stderr, "credsync: warning: %s\n", m.c_str());
    };
    opt.on_progress = [&](const std::string &zone, int64_t n) { progress.update(zone, n); };
    int status = 0;
    auto report = [&](const SyncResult &r) {
        progress.clear();
        if (a.json) {
            json zones = json::array();
            for (auto &z : r.zones) zones.push_back({{"zone", z.first}, {"gencount", z.second}});
            print_json({{"pulled", r.pulled},
                        {"pushed", r.pushed},
                        {"merged", r.merged},
                        {"tampered", r.tampered},
                        {"rolled_back", r.rolled_back},
                        {"reuploaded", r.reuploaded},
                        {"resyncs", r.resyncs},
                        {"rejected", r.rejected},
                        {"too_large", r.too_large},
                        {"zones", zones},
                        {"warnings", r.warnings}});
        } else {
            std::string line = "synced: pulled " + std::to_string(r.pulled) + ", pushed " + std::to_string(r.pushed) +
                               ", merged " + std::to_string(r.merged) + ";";
            if (r.zones.empty()) line += " no zones";
            for (auto &z : r.zones) line += " " + z.first + "@" + std::to_string(z.second);
            std::cout << line << std::endl;
        }
        if (!r.too_large.empty()) {
            std::string ids;
            for (auto &id : r.too_large) ids += " " + id;
            std::fprintf(stderr, "credsync: %zu entries are larger than the server accepts and stay unsynced (shorten "
                                 "their notes):%s\n", r.too_large.size(), ids.c_str());
            status = 1;
        }
        if (r.tampered > 0 || r.rejected > 0) {
            std::fprintf(stderr,
                         "credsync: %lld records from the server failed authentication and were not imported (the "
                         "server's data was tampered with)\n",
                         static_cast<long long>(std::max(r.tampered, r.rejected)));
            status = 1;
        }
        return true;
    };
    if (a.has("--watch")) {
        v.watch(opt, report);
        return status;
    }
    report(v.sync(opt));
    return status;
}

}  // namespace

int run(const Args &a)
{
    if (a.command == "version") {
        std::cout << "credsync 0.1 (client library and command; docs/client.md)\n";
        return 0;
    }
    Options opt;
    opt.home = a.home.empty() ? default_home() : a.home;
    opt.server = !a.server.empty() ? a.server : env("CREDSYNC_SERVER");
    const std::string &c = a.command;

    // Commands that take an entry or a name check their arguments before
    // anything touches the home.
    if (c == "signup" || c == "login") need_positional(a, 1, "NAME");
    if (c == "add") need_positional(a, 1, "TITLE");
    if (c == "show" || c == "edit" || c == "rm") need_positional(a, 1, "ID or TITLE");
    if (c == "list" || c == "status" || c == "logout" || c == "passwd" || c == "attach") need_positional(a, 0, "no arguments");
    check_zone(a.get("--zone"));
    if (c == "add" && a.positional[0].empty()) throw UsageError{"an entry needs a title"};
    if (c == "edit" && a.get("--title") && a.get("--title")->empty()) throw UsageError{"an entry needs a title"};
    if (c == "devices" && !(a.positional.empty() || (a.positional.size() == 2 && a.positional[0] == "revoke")))
        throw UsageError{"'devices' takes nothing, or 'revoke ID'"};

    Vault v(opt);

    if (c == "signup") {
        std::string pw = account_password(a, "Password for the new account: ", true);
        if (pw.empty()) throw UsageError{"the account password is empty"};
        v.signup(a.positional[0], pw, label(a), kdf_preset());
        std::cout << "signed up as " << a.positional[0] << "\n";
        return 0;
    }
    if (c == "login") {
        std::string pw = account_password(a, "Password: ", false);
        v.login(a.positional[0], pw, label(a));
        std::cout << "logged in as " << a.positional[0] << "\n";
        return 0;
    }
    if (c == "attach") {
        std::string token = env("CREDSYNC_TOKEN");
        if (token.empty()) {
            auto l = read_line();
            if (!l || l->empty()) throw UsageError{"attach reads the token from CREDSYNC_TOKEN or the first line of standard input"};
            token = *l;
        }
        v.attach(token, label(a), a.get("--key-from").value_or(""));
        std::cout << "attached as " << v.account_name() << "\n";
        return 0;
    }
    if (c == "logout") {
        std::string warning = v.logout(a.has("--force"));
        if (!warning.empty()) std::fprintf(stderr, "credsync: warning: %s\n", warning.c_str());
        return 0;
    }
    if (c == "add") {
        NewEntry e;
        e.title = a.positional[0];
        e.username = a.get("--username").value_or("");
        e.url = a.get("--url").value_or("");
        e.notes = a.get("--notes").value_or("");
        e.zone = a.get("--zone").value_or("default");
        e.password = entry_password(a, "Password for " + e.title + " (empty: none): ").value_or("");
        std::cout << v.add(e) << "\n";
        return 0;
    }
    if (c == "list") {
        auto entries = v.list(a.get("--zone").value_or(""));
        if (a.json) {
            json out = json::array();
            for (auto &e : entries)
                out.push_back({{"id", e.id}, {"title", e.title}, {"username", e.username}, {"url", e.url}, {"zone", e.zone}});
            print_json(out);
        } else {
            for (auto &e : entries)
                std::cout << e.id << "  " << e.zone << "  " << e.title << (e.username.empty() ? "" : "  " + e.username)
                          << (e.url.empty() ? "" : "  " + e.url) << "\n";
        }
        return 0;
    }
    if (c == "show") {
        Entry e = v.get(a.positional[0]);
        if (a.json) {
            print_json(entry_json(e));
        } else {
            std::cout << "id:       " << e.id << "\n"
                      << "title:    " << e.title << "\n"
                      << "username: " << e.username << "\n"
                      << "password: " << e.password << "\n"
                      << "url:      " << e.url << "\n"
                      << "notes:    " << e.notes << "\n"
                      << "zone:     " << e.zone << "\n"
                      << "modified: " << iso(e.modified_ms) << "\n";
            for (auto &h : e.history) std::cout << "previous: " << h.password << " (until " << iso(h.until_ms) << ")\n";
        }
        return 0;
    }
    if (c == "edit") {
        EntryChanges ch;
        ch.title = a.get("--title");
        ch.username = a.get("--username");
        ch.url = a.get("--url");
        ch.notes = a.get("--notes");
        bool any_field = ch.title || ch.username || ch.url || ch.notes;
        // A prompt for the password only when nothing else was asked for.
        if (a.has("--password-stdin") || a.has("--generate") || !any_field)
            ch.password = entry_password(a, "New password (empty: keep): ");
        if (!ch.title && !ch.username && !ch.url && !ch.notes && !ch.password)
            throw UsageError{"'edit' needs something to change (--title, --username, --url, --notes, --password-stdin, --generate)"};
        if (!v.edit(a.positional[0], ch)) std::fprintf(stderr, "credsync: nothing changed\n");
        return 0;
    }
    if (c == "rm") {
        v.remove(a.positional[0]);
        return 0;
    }
    if (c == "sync") return cmd_sync(v, a);
    if (c == "status") {
        auto zones = v.status(true);
        if (a.json) {
            json out = json::array();
            for (auto &z : zones)
                out.push_back({{"zone", z.zone},
                               {"cursor", z.cursor},
                               {"server_gencount", z.server_gencount ? json(*z.server_gencount) : json(nullptr)},
                               {"pending", z.pending},
                               {"in_sync", z.in_sync}});
            print_json({{"zones", out}});
        } else {
            if (zones.empty()) std::cout << "no zones yet\n";
            for (auto &z : zones)
                std::cout << z.zone << ": cursor " << z.cursor << ", server "
                          << (z.server_gencount ? std::to_string(*z.server_gencount) : std::string("unreachable")) << ", "
                          << z.pending << " pending, " << (z.in_sync ? "in sync" : "not in sync") << "\n";
        }
        return 0;
    }
    if (c == "devices") {
        if (!a.positional.empty()) {
            v.revoke_device(a.positional[1]);
            if (a.json)
                print_json({{"device", a.positional[1]}, {"revoked", true}});
            else
                std::cout << "revoked " << a.positional[1] << "\n";
            return 0;
        }
        auto devs = v.devices();
        if (a.json) {
            json out = json::array();
            for (auto &d : devs)
                out.push_back({{"id", d.id},
                               {"label", d.label},
                               {"created", d.created},
                               {"last_seen", d.last_seen.empty() ? json(nullptr) : json(d.last_seen)},
                               {"current", d.current}});
            print_json(out);
        } else {
            for (auto &d : devs)
                std::cout << d.id << "  " << d.label << "  created " << d.created << "  last seen " << d.last_seen
                          << (d.current ? "  (this device)" : "") << "\n";
        }
        return 0;
    }
    if (c == "passwd") {
        std::string old_pw, new_pw;
        if (a.has("--password-stdin")) {
            auto o = read_line(), n = read_line();
            if (!o || !n) throw UsageError{"passwd --password-stdin reads two lines: the old password, then the new"};
            old_pw = *o;
            new_pw = *n;
        } else {
            old_pw = account_password(a, "Current password: ", false);
            if (const char *p = std::getenv("CREDSYNC_NEW_PASSWORD")) {
                new_pw = p;
            } else {
                auto p1 = prompt_secret("New password: ");
                if (!p1) throw UsageError{"no new password: use --password-stdin, set CREDSYNC_NEW_PASSWORD, or run on a terminal"};
                auto p2 = prompt_secret("Repeat it: ");
                if (!p2 || *p2 != *p1) throw UsageError{"the two passwords differ"};
                new_pw = *p1;
            }
        }
        if (new_pw.empty()) throw UsageError{"the new password is empty"};
        v.change_password(old_pw, new_pw, kdf_preset(), a.has("--logout-others"));
        std::cout << "password changed" << (a.has("--logout-others") ? "; other devices logged out" : "") << "\n";
        return 0;
    }
    throw UsageError{"unknown command '" + c + "'"};
}

std::string iso(int64_t ms)
{
    if (ms <= 0) return "";
    time_t secs = static_cast<time_t>(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
    return buf;
}

void print_help(const std::string &command)
{
    (void)command;
    std::cout <<
R"(usage: credsync [--server URL] [--home DIR] [--json] COMMAND [ARGS]

An end-to-end encrypted password manager that syncs through a credsync server.
Entries are encrypted on this device; the server never sees them in clear.

Global options:
  --server URL   the server (env CREDSYNC_SERVER; default: the one this home
                 logged in to, else http://127.0.0.1:8080)
  --home DIR     this device's state (env CREDSYNC_HOME; default
                 $XDG_DATA_HOME/credsync): one account per home
  --json         machine-readable output of list, show, status, devices, sync

Account:
  signup NAME [--device LABEL] [--password-stdin]
  login NAME [--device LABEL] [--password-stdin]
  logout [--force]            revoke this device and wipe the home
  passwd [--logout-others] [--password-stdin]   (stdin: old, then new)
  devices                     list this account's devices
  devices revoke ID           revoke one
  attach [--device LABEL] [--key-from HOME]
                              use a bearer token (CREDSYNC_TOKEN or stdin) on a
                              server without the accounts API

Entries (work offline):
  add TITLE [--username U] [--url URL] [--notes TEXT] [--zone Z]
            [--password-stdin | --generate [N]]      prints the new id
  list [--zone Z]
  show ID|TITLE
  edit ID|TITLE [--title T] [--username U] [--url URL] [--notes TEXT]
                [--password-stdin | --generate [N]]
  rm ID|TITLE

Sync:
  sync [--watch] [--full]     pull, merge, push, verify; one summary line
  status                      per zone: cursor, server gencount, pending

Passwords: a no-echo prompt on a terminal, --password-stdin (one line), or
CREDSYNC_PASSWORD for the account's (CREDSYNC_NEW_PASSWORD for passwd's new
one). CREDSYNC_KDF=interactive|moderate|sensitive picks the Argon2id cost at
signup and passwd (default moderate). CREDSYNC_CA_FILE: a CA bundle to trust.

Exit status: 0 success, 1 failure (one line on stderr), 2 bad usage.
)";
}

}  // namespace credsync::cli
