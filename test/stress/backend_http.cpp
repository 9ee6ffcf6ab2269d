// The HTTP API through credsync-proxy, with cpp-httplib's client (one
// keep-alive connection per Backend) and nlohmann_json.
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <map>

#include "backend.h"

namespace ck {
namespace {

using json = nlohmann::json;

class HttpBackend : public Backend {
public:
    HttpBackend(const std::string &base_url, const std::vector<std::pair<std::string, std::string>> &tokens)
        : base_(base_url)
    {
        for (const auto &t : tokens) tokens_[t.first] = t.second;
        connect();
    }

    bool reconnect() override
    {
        connect();
        auto r = cli_->Get("/healthz");
        return r && r->status == 200;
    }

    const char *op_reused_code() const override { return "422 op_reused"; }

    WriteResult write(Kind kind, const std::string &user, const std::string &zone, const std::vector<RecIn> &recs,
                      const std::optional<Uuid> &op_id) override
    {
        WriteResult w;
        std::string path, body_text;
        if (kind == Kind::Delete) {
            const RecIn &r = recs.at(0);
            path = "/v1/zones/" + zone + "/items/" + uuid_str(*r.item);
            std::string q;
            if (r.if_match) q += "if_match=" + std::to_string(*r.if_match);
            if (op_id) q += std::string(q.empty() ? "" : "&") + "op_id=" + uuid_str(*op_id);
            if (!q.empty()) path += "?" + q;
        } else {
            json body = json::object();
            if (op_id) body["op_id"] = uuid_str(*op_id);
            json records = json::array();
            for (const auto &r : recs) {
                json e = json::object();
                if (r.item) e["item"] = uuid_str(*r.item);
                e["blob"] = r.blob ? json(base64_encode(*r.blob)) : json(nullptr);
                if (r.if_match) e["if_match"] = *r.if_match;
                records.push_back(e);
            }
            body["records"] = records;
            path = "/v1/zones/" + zone + "/push";
            body_text = body.dump();
        }
        httplib::Result res = kind == Kind::Delete
                                  ? cli_->Delete(path.c_str(), headers(user))
                                  : cli_->Post(path.c_str(), headers(user), body_text, "application/json");
        json j;
        if (!classify(res, w.outcome, w.code, w.message, j)) return w;
        try {
            if (w.outcome == Outcome::Ok) {
                if (kind == Kind::Delete) {
                    Row row;
                    if (!parse_uuid(j.at("item").get<std::string>(), row.item)) throw std::runtime_error("bad item");
                    row.gencount = j.at("gencount").get<int64_t>();
                    w.rows.push_back(row);
                } else {
                    int64_t top = 0;
                    for (const auto &e : j.at("results")) {
                        Row row;
                        if (!parse_uuid(e.at("item").get<std::string>(), row.item))
                            throw std::runtime_error("bad item");
                        row.gencount = e.at("gencount").get<int64_t>();
                        top = std::max(top, row.gencount);
                        w.rows.push_back(row);
                    }
                    if (!recs.empty() && j.at("gencount").get<int64_t>() != top) {
                        violation("http-shape", "push response gencount " + j.at("gencount").dump() +
                                                    " is not the highest in results (" + std::to_string(top) + ")");
                    }
                }
            } else if (w.outcome == Outcome::Conflict) {
                for (const auto &e : j.at("error").at("conflicts"))
                    w.conflicts.push_back({e.at("item").get<std::string>(), e.at("gencount").get<int64_t>(),
                                           e.at("deleted").get<bool>()});
                w.conflicts_parsed = true;
            }
        } catch (const std::exception &e) {
            w.outcome = Outcome::Error;
            w.code = "bad-response";
            w.message = std::string(e.what()) + ": " + res->body.substr(0, 300);
        }
        return w;
    }

    PullResult pull(const std::string &user, const std::string &zone, int64_t since, int limit, bool full) override
    {
        PullResult p;
        std::string path = "/v1/zones/" + zone + "/pull?since=" + std::to_string(since) +
                           "&limit=" + std::to_string(limit) + (full ? "&full=true" : "");
        auto res = cli_->Get(path.c_str(), headers(user));
        json j;
        if (!classify(res, p.outcome, p.code, p.message, j) || p.outcome != Outcome::Ok) return p;
        try {
            for (const auto &e : j.at("records")) {
                PullRow row;
                if (!parse_uuid(e.at("item").get<std::string>(), row.item)) throw std::runtime_error("bad item");
                row.gencount = e.at("gencount").get<int64_t>();
                row.deleted = e.at("deleted").get<bool>();
                if (!e.at("blob").is_null() && !base64_decode(e.at("blob").get<std::string>(), row.blob))
                    throw std::runtime_error("bad base64");
                p.rows.push_back(std::move(row));
            }
            p.more = j.at("more").get<bool>() ? 1 : 0;
            p.next_since = j.at("next_since").get<int64_t>();
            p.zone_gencount = j.at("gencount").get<int64_t>();
        } catch (const std::exception &e) {
            p.outcome = Outcome::Error;
            p.code = "bad-response";
            p.message = std::string(e.what()) + ": " + res->body.substr(0, 300);
        }
        return p;
    }

    StateResult state(const std::string &user, const std::string &zone) override
    {
        StateResult s;
        auto res = cli_->Get(("/v1/zones/" + zone).c_str(), headers(user));
        json j;
        if (!classify(res, s.outcome, s.code, s.message, j) || s.outcome != Outcome::Ok) return s;
        try {
            s.gencount = j.at("gencount").get<int64_t>();
            s.items = j.at("items").get<int64_t>();
            s.bytes = j.at("bytes").get<int64_t>();
            s.horizon = j.at("horizon").get<int64_t>();
            if (!unhex(j.at("digest").get<std::string>(), s.digest)) throw std::runtime_error("bad digest hex");
        } catch (const std::exception &e) {
            s.outcome = Outcome::Error;
            s.code = "bad-response";
            s.message = std::string(e.what()) + ": " + res->body.substr(0, 300);
        }
        return s;
    }

    ZonesResult zones(const std::string &user) override
    {
        ZonesResult z;
        auto res = cli_->Get("/v1/zones", headers(user));
        json j;
        if (!classify(res, z.outcome, z.code, z.message, j) || z.outcome != Outcome::Ok) return z;
        try {
            for (const auto &e : j.at("zones"))
                z.zones.push_back({e.at("zone").get<std::string>(), e.at("gencount").get<int64_t>(),
                                   e.at("items").get<int64_t>(), e.at("bytes").get<int64_t>()});
        } catch (const std::exception &e) {
            z.outcome = Outcome::Error;
            z.code = "bad-response";
            z.message = std::string(e.what()) + ": " + res->body.substr(0, 300);
        }
        return z;
    }

private:
    void connect()
    {
        cli_ = std::make_unique<httplib::Client>(base_);
        cli_->set_keep_alive(true);
        cli_->set_tcp_nodelay(true);
        cli_->set_connection_timeout(3, 0);
        cli_->set_read_timeout(30, 0);
        cli_->set_write_timeout(10, 0);
    }

    httplib::Headers headers(const std::string &user) const
    {
        auto it = tokens_.find(user);
        return {{"Authorization", "Bearer " + (it == tokens_.end() ? std::string("none") : it->second)}};
    }

    // Sorts a response into an outcome; false when there is no JSON body to read.
    static bool classify(const httplib::Result &res, Outcome &outcome, std::string &code, std::string &message,
                         json &j)
    {
        if (!res) {
            outcome = Outcome::ConnError;
            code = "http-" + httplib::to_string(res.error());
            message = "no response";
            return false;
        }
        int st = res->status;
        // 500/502/503/504: the proxy lost the database (or the push's fate is
        // unknown to it): a client retries with the same op_id.
        if (st == 500 || st == 502 || st == 503 || st == 504) {
            outcome = Outcome::ConnError;
            code = std::to_string(st);
            message = res->body.substr(0, 300);
            return false;
        }
        try {
            j = json::parse(res->body);
        } catch (const std::exception &e) {
            outcome = Outcome::Error;
            code = std::to_string(st) + " not-json";
            message = res->body.substr(0, 300);
            return false;
        }
        if (st == 200) {
            outcome = Outcome::Ok;
            return true;
        }
        std::string ecode;
        try {
            ecode = j.at("error").at("code").get<std::string>();
            message = j.at("error").at("message").get<std::string>();
        } catch (...) {
            message = res->body.substr(0, 300);
        }
        code = std::to_string(st) + " " + ecode;
        outcome = st == 409 ? Outcome::Conflict : Outcome::Error;
        return true;
    }

    std::string base_;
    std::map<std::string, std::string> tokens_;
    std::unique_ptr<httplib::Client> cli_;
};

}  // namespace

std::unique_ptr<Backend> make_http_backend(const std::string &base_url,
                                           const std::vector<std::pair<std::string, std::string>> &tokens)
{
    return std::make_unique<HttpBackend>(base_url, tokens);
}

}  // namespace ck
