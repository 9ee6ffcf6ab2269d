#include "check.h"

#include "log.h"
#include "pool.h"
#include "queries.h"

#include <httplib.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace credsync {

namespace {

struct Finding {
    bool ok;
    std::string text;
};

std::string value(PGresult *r, int row, int col) { return PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col); }

// Compares dotted versions numerically ("1.10" > "1.9").
bool version_at_least(const std::string &have, const std::string &want)
{
    size_t i = 0, j = 0;
    while (i < have.size() || j < want.size()) {
        long a = 0, b = 0;
        while (i < have.size() && have[i] != '.') a = a * 10 + (have[i++] - '0');
        while (j < want.size() && want[j] != '.') b = b * 10 + (want[j++] - '0');
        if (a != b) return a > b;
        i++, j++;
    }
    return true;
}

std::vector<Finding> database_findings(const Config &cfg)
{
    std::vector<Finding> out;
    PGconn *c = connect_db(cfg.db, "credsync-proxy --check");
    if (PQstatus(c) != CONNECTION_OK) {
        std::string why = PQerrorMessage(c);
        while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
        out.push_back({false, "database: cannot connect: " + why});
        PQfinish(c);
        return out;
    }
    PGresult *r = PQexec(c, "SELECT current_user, pg_catalog.current_setting('server_version'),"
                            " (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'credsync')");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        out.push_back({false, "database: connected, but a first query failed"});
        PQclear(r);
        PQfinish(c);
        return out;
    }
    std::string role = value(r, 0, 0), version = value(r, 0, 2);
    out.push_back({true, "database: connected as role " + role + " (PostgreSQL " + value(r, 0, 1) + ")"});
    PQclear(r);
    if (version.empty()) {
        out.push_back({false, "extension credsync: not installed in this database (CREATE EXTENSION credsync)"});
    } else if (!version_at_least(version, kRequiredExtension)) {
        out.push_back({false, "extension credsync " + version + ": this proxy needs " + kRequiredExtension +
                                  " or later (ALTER EXTENSION credsync UPDATE, then SELECT credsync.grant_proxy('" +
                                  role + "'))"});
    } else {
        out.push_back({true, "extension credsync " + version});
        // Every function the proxy's statements call (queries.h), and
        // issue_token when registration is open: what grant_proxy() grants.
        // A role granted before an update lacks the functions the update
        // added until grant_proxy() runs again.
        std::string names;
        for (const std::string &f : queries::functions_called())
            if (f != "issue_token" || cfg.open_registration) names += (names.empty() ? "'" : ",'") + f + "'";
        // A function missing from the database counts as not executable.
        std::string sql = "SELECT coalesce(p.oid::pg_catalog.regprocedure::text, 'credsync.' || f || ' (missing)')"
                          " FROM pg_catalog.unnest(ARRAY[" + names + "]) f"
                          " LEFT JOIN pg_catalog.pg_proc p ON p.proname = f"
                          "  AND p.pronamespace = 'credsync'::pg_catalog.regnamespace"
                          " WHERE p.oid IS NULL OR NOT pg_catalog.has_function_privilege(p.oid, 'EXECUTE') ORDER BY 1";
        r = PQexec(c, sql.c_str());
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            out.push_back({false, "grants: role " + role + " cannot list the extension's functions (SELECT credsync.grant_proxy('" +
                                      role + "'))"});
        } else if (PQntuples(r) > 0) {
            std::string missing;
            for (int i = 0; i < PQntuples(r); i++) missing += (i ? ", " : "") + value(r, i, 0);
            out.push_back({false, "grants: role " + role + " may not execute " + missing + " (SELECT credsync.grant_proxy('" +
                                      role + "'))"});
        } else {
            out.push_back({true, "grants: role " + role + " may execute every function the proxy calls"});
        }
        PQclear(r);
    }
    PQfinish(c);
    return out;
}

}  // namespace

void log_database_findings(const Config &cfg)
{
    for (const auto &f : database_findings(cfg)) log_line((f.ok ? "" : "warning: ") + f.text);
}

int run_check(const Config &cfg)
{
    std::vector<Finding> all;
    all.push_back({true, "flags: listen " + cfg.listen_host + ":" + std::to_string(cfg.listen_port) + ", threads " +
                             std::to_string(cfg.threads) + ", pool " + std::to_string(cfg.pool_size) +
                             ", max body " + std::to_string(cfg.max_body_bytes) + " bytes" +
                             (cfg.open_registration ? ", open registration" : "")});
    if (!cfg.tls_cert.empty()) {
        httplib::SSLServer probe(cfg.tls_cert.c_str(), cfg.tls_key.c_str());
        all.push_back({probe.is_valid(), probe.is_valid() ? "tls: certificate and key load"
                                                          : "tls: cannot load --tls-cert/--tls-key"});
    }
    for (auto &f : database_findings(cfg)) all.push_back(std::move(f));
    bool ok = true;
    for (const auto &f : all) {
        std::printf("%s %s\n", f.ok ? "ok  " : "FAIL", f.text.c_str());
        ok = ok && f.ok;
    }
    std::printf(ok ? "credsync-proxy: the configuration is in order\n"
                   : "credsync-proxy: the configuration has problems (FAIL above)\n");
    return ok ? 0 : 1;
}

}  // namespace credsync
