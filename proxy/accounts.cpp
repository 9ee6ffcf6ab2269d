// The accounts routes (issue 11): signup, login challenge, login, devices,
// password change; and deleting one's own data (issue 16): a zone, the whole
// account. Bodies are read by account_bodies.cpp, SQL is in queries.cpp,
// errors mapped by errors.cpp (CSA09 name_taken). A failed login is a result
// row of the extension, answered here: 401 login_failed (one answer for
// every cause) or 429 too_many_attempts with Retry-After.
#include "account_bodies.h"
#include "codec.h"
#include "queries.h"
#include "routes.h"

#include <limits>

namespace credsync {

using nlohmann::json;

namespace {

Reply json_reply(int status, const json &j)
{
    return Reply{status, j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json"};
}

ApiError internal() { return ApiError(500, "internal", "internal error"); }

std::string text_at(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col)) throw internal();
    return PQgetvalue(r, row, col);
}

long long int_at(const PGresult *r, int row, int col)
{
    auto v = parse_int(text_at(r, row, col), std::numeric_limits<long long>::min(), std::numeric_limits<long long>::max());
    if (!v) throw internal();
    return *v;
}

// A bytea column (text output) as base64.
std::string base64_at(const PGresult *r, int row, int col)
{
    auto bytes = from_bytea_text(text_at(r, row, col));
    if (!bytes) throw internal();
    return base64_encode(*bytes);
}

Param label_param(const std::optional<std::string> &label) { return label ? Param::text(*label) : Param::null(); }

// The parameters a signup and a password change share: $2..$6.
void push_secrets(std::vector<Param> &params, const LoginSecrets &s)
{
    params.push_back(Param::bin(s.login_key));
    params.push_back(Param::bin(s.salt));
    params.push_back(Param::text(std::to_string(s.kdf_ops)));
    params.push_back(Param::text(std::to_string(s.kdf_mem)));
    params.push_back(Param::bin(s.wrapped_key));
}

json kdf_json(long long ops, long long mem) { return {{"alg", "argon2id13"}, {"ops", ops}, {"mem", mem}}; }

// The result column of login() and account_delete(): 'ok', or the refusal
// to answer. Every failure ('failed') is the same answer.
void check_login_result(const PGresult *r, int retry_after_col)
{
    std::string result = text_at(r, 0, 0);
    if (result == "ok") return;
    if (result == "failed") throw login_failed();
    if (result == "too_many_attempts")
        throw too_many_attempts(static_cast<int>(PQgetisnull(r, 0, retry_after_col) ? 1 : int_at(r, 0, retry_after_col)));
    throw internal();
}

}  // namespace

Identity Api::identity(const httplib::Request &req) { return auth_.identity_for(req.get_header_value("Authorization")); }

Reply Api::create_account(const std::string &body)
{
    CreateAccountRequest a = parse_create_account(body);
    std::vector<Param> params;
    params.push_back(Param::text(a.name));
    push_secrets(params, a.login);
    params.push_back(label_param(a.device));
    auto lease = pool_.acquire();
    Result r = lease->run(queries::account_create, params);
    if (PQntuples(r.get()) != 1) throw internal();
    return json_reply(201, {{"user", text_at(r.get(), 0, 0)},
                            {"device", text_at(r.get(), 0, 1)},
                            {"token", text_at(r.get(), 0, 2)}});
}

Reply Api::login_challenge(const std::string &body)
{
    std::string name = parse_challenge_request(body);
    auto lease = pool_.acquire();
    Result r = lease->run(queries::login_challenge, {Param::text(name)});
    if (PQntuples(r.get()) != 1) throw internal();
    // An unknown name gets the same shape (a fake salt, the default kdf):
    // nothing here tells the two apart.
    return json_reply(200, {{"challenge", base64_at(r.get(), 0, 0)},
                            {"salt", base64_at(r.get(), 0, 1)},
                            {"kdf", kdf_json(int_at(r.get(), 0, 2), int_at(r.get(), 0, 3))},
                            {"expires_in", int_at(r.get(), 0, 4)}});
}

Reply Api::login(const std::string &body)
{
    LoginRequest l = parse_login(body);
    auto lease = pool_.acquire();
    // Its own transaction (the pool's statements autocommit): a failure's
    // count and the used challenge commit even though the login failed.
    Result r = lease->run(queries::login, {Param::text(l.name), Param::bin(l.challenge), Param::bin(l.signature),
                                           label_param(l.device)});
    if (PQntuples(r.get()) != 1) throw internal();
    check_login_result(r.get(), 5);
    return json_reply(200, {{"user", text_at(r.get(), 0, 1)},
                            {"device", text_at(r.get(), 0, 2)},
                            {"token", text_at(r.get(), 0, 3)},
                            {"wrapped_key", base64_at(r.get(), 0, 4)}});
}

Reply Api::devices(const std::string &user, const httplib::Request &req)
{
    std::string current = identity(req).device;
    auto lease = pool_.acquire();
    Result r = lease->run(queries::device_list, {Param::text(user)});
    json list = json::array();
    for (int i = 0; i < PQntuples(r.get()); i++) {
        std::string id = text_at(r.get(), i, 0);
        list.push_back({{"id", id},
                        {"label", PQgetisnull(r.get(), i, 1) ? json(nullptr) : json(PQgetvalue(r.get(), i, 1))},
                        {"created", text_at(r.get(), i, 2)},
                        {"last_seen", PQgetisnull(r.get(), i, 3) ? json(nullptr) : json(PQgetvalue(r.get(), i, 3))},
                        {"current", id == current}});
    }
    return json_reply(200, {{"devices", list}});
}

Reply Api::revoke_device(const std::string &user, const std::string &device)
{
    if (!is_uuid(device)) throw bad_request("the device id must be a uuid");
    std::string id = uuid_lower(device);
    {
        auto lease = pool_.acquire();
        Result r = lease->run(queries::device_revoke, {Param::text(user), Param::text(id)});
        if (PQntuples(r.get()) != 1) throw internal();
        // Another user's device is not this user's to know of: the same 404
        // as an id nobody has.
        if (text_at(r.get(), 0, 0) != "t") throw ApiError(404, "not_found", "no such device");
    }
    // At once in this proxy; other proxies hear NOTIFY credsync_tokens.
    auth_.forget_all();
    return json_reply(200, {{"device", id}, {"revoked", true}});
}

Reply Api::set_login(const std::string &user, const httplib::Request &req)
{
    SetLoginRequest s = parse_set_login(req.body);
    std::string keep = identity(req).device;  // the device asking stays logged in
    std::vector<Param> params;
    params.push_back(Param::text(user));
    push_secrets(params, s.login);
    params.push_back(Param::text(s.logout_others ? "true" : "false"));
    params.push_back(Param::text(keep));
    long long revoked;
    {
        auto lease = pool_.acquire();
        Result r = lease->run(queries::set_login, params);
        if (PQntuples(r.get()) != 1) throw internal();
        revoked = int_at(r.get(), 0, 0);
    }
    if (revoked > 0) auth_.forget_all();
    return json_reply(200, json::object());
}

Reply Api::delete_zone(const std::string &user, const std::string &zone)
{
    if (!is_zone(zone)) throw bad_request("zone must be 1 to 64 characters of [A-Za-z0-9_.-]");
    auto lease = pool_.acquire();
    Result r = lease->run(queries::zone_delete, {Param::text(user), Param::text(zone)});
    if (PQntuples(r.get()) != 1) throw internal();
    return json_reply(200, {{"zone", zone}, {"removed", int_at(r.get(), 0, 0)}});
}

Reply Api::delete_account(const std::string &user, const std::string &body)
{
    DeleteAccountRequest d = parse_delete_account(body);
    // A push of the user that comes late to the deletion (its token checked
    // before) is refused by the database (CS401 -> 401, docs/sql-api.md).
    Result r;
    try {
        auto lease = pool_.acquire();
        r = lease->run(queries::account_delete,
                       {Param::text(user), d.challenge ? Param::bin(*d.challenge) : Param::null(),
                        d.signature ? Param::bin(*d.signature) : Param::null()});
    } catch (...) {
        // E.g. the connection broke: the deletion may have committed.
        auth_.forget_all();
        throw;
    }
    if (PQntuples(r.get()) != 1) throw internal();
    check_login_result(r.get(), 2);  // a wrong proof deleted nothing
    // Every token of the user is gone: this proxy forgets them now (others
    // on the NOTIFY the deletion sends).
    auth_.forget_all();
    return json_reply(200, {{"user", user}, {"removed", int_at(r.get(), 0, 1)}});
}

}  // namespace credsync
