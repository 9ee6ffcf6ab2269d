#include "http.h"

#include "codec.h"
#include "errors.h"
#include "log.h"
#include "metrics.h"
#include "validate.h"

#include <chrono>
#include <cstdio>
#include <strings.h>

namespace credsync {

namespace {

// What we know about the request a worker thread is serving. cpp-httplib
// serves one request at a time per thread, from the headers through the
// logger call, so a thread-local is the request's own state. It is reset by
// the logger, which runs last for every request.
struct RequestState {
    bool started = false;
    std::chrono::steady_clock::time_point start;
    RouteMatch match;
    std::string user;
    bool gated = false;  // gate() passed (it may run from the Expect handler)
    bool close = false;  // the body was not read: end the connection after answering
};
thread_local RequestState state;

void begin_request()
{
    if (state.started) return;
    state = RequestState{};
    state.started = true;
    state.start = std::chrono::steady_clock::now();
}

void set_error(httplib::Response &res, int status, const std::string &code, const std::string &message,
               const nlohmann::json &extra = nlohmann::json::object())
{
    res.status = status;
    res.set_content(error_body(status, code, message, extra), "application/json");
    if (status == 401) res.set_header("WWW-Authenticate", "Bearer");
    if (status == 503) res.set_header("Retry-After", "1");
    if (status == 405) res.set_header("Allow", state.match.allow);
}

void set_error(httplib::Response &res, const ApiError &e)
{
    set_error(res, e.status, e.code, e.what(), e.extra);
}

// The handler boundary: whatever happens below becomes a JSON answer. Only
// ApiError messages reach clients; anything else is logged and is a bare 500.
template <class Fn>
void guarded(httplib::Response &res, Fn fn)
{
    try {
        fn();
    } catch (const ApiError &e) {
        set_error(res, e);
    } catch (const std::exception &e) {
        log_line(std::string("internal error: ") + e.what());
        set_error(res, 500, "internal", "internal error");
    } catch (...) {
        log_line("internal error: unknown exception");
        set_error(res, 500, "internal", "internal error");
    }
}

// Answers with the prepared body and then ends the connection. We use this
// when the request's body was never read (refused before reading, or a body
// on a route that takes none): left on the socket, it would be parsed as the
// next request. cpp-httplib 0.11.4 has no "close after this response" switch,
// but a content provider that returns false after writing everything makes it
// stop serving the connection.
// with_length: cpp-httplib adds Content-Length for content providers only on
// the routed path; the Expect path writes headers as they are, so add it there.
void close_after(httplib::Response &res, bool with_length = false)
{
    if (res.body.empty()) return;
    auto body = std::make_shared<std::string>(std::move(res.body));
    res.body.clear();
    std::string type = res.get_header_value("Content-Type");
    res.headers.erase("Content-Type");
    res.set_header("Connection", "close");
    if (with_length) res.set_header("Content-Length", std::to_string(body->size()));
    res.set_content_provider(body->size(), type,
                             [body](size_t offset, size_t length, httplib::DataSink &sink) {
                                 sink.write(body->data() + offset, length);
                                 return false;
                             });
}

}  // namespace

HttpServer::HttpServer(const Config &cfg, Api &api, TokenAuth &auth) : cfg_(cfg), api_(api), auth_(auth)
{
    if (!cfg_.tls_cert.empty())
        svr_ = std::make_unique<httplib::SSLServer>(cfg_.tls_cert.c_str(), cfg_.tls_key.c_str());
    else
        svr_ = std::make_unique<httplib::Server>();
    setup();
}

bool HttpServer::valid() const { return svr_->is_valid(); }

bool HttpServer::bind() { return svr_->bind_to_port(cfg_.listen_host, cfg_.listen_port); }

void HttpServer::serve() { svr_->listen_after_bind(); }

void HttpServer::stop() { svr_->stop(); }

void HttpServer::setup()
{
    httplib::Server &s = *svr_;
    // One thread per open connection: the pool size bounds concurrent
    // connections; more wait in the accept queue.
    size_t threads = static_cast<size_t>(cfg_.threads);
    s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    // A backstop only: gate() refuses larger bodies before reading them.
    s.set_payload_max_length(cfg_.max_body_bytes);
    s.set_read_timeout(cfg_.read_timeout_s, 0);
    s.set_write_timeout(cfg_.write_timeout_s, 0);
    s.set_keep_alive_timeout(cfg_.keepalive_timeout_s);
    s.set_keep_alive_max_count(static_cast<size_t>(cfg_.keepalive_max));
    s.set_tcp_nodelay(true);
    s.set_default_headers({{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}});

    // Everything that can be decided from the request line and headers, before
    // a single body byte is read. Returns false with res filled in to refuse.
    auto gate = [this](const httplib::Request &req, httplib::Response &res, bool from_expect) -> bool {
        begin_request();
        // cpp-httplib would slice our JSON for a Range header; ranges mean
        // nothing in this API. The Request is not const where it lives.
        const_cast<httplib::Request &>(req).ranges.clear();
        state.match = match_route(req.method, req.path, cfg_.open_registration);
        bool ok = false;
        guarded(res, [&] {
            check_request_head(req.headers, state.match, cfg_.max_body_bytes, state.close);
            // The token decides the user, before any body is read.
            if (state.match.needs_auth) state.user = auth_.user_for(req.get_header_value("Authorization"));
            ok = true;
        });
        if (!ok) {
            // A refused request with a body: the body is still on the socket.
            if (req.has_header("Transfer-Encoding") || req.has_header("Content-Length")) state.close = true;
            if (state.close) close_after(res, from_expect);
            return false;
        }
        state.gated = true;
        return true;
    };

    // "Expect: 100-continue": decide before telling the client to send the body.
    s.set_expect_100_continue_handler([gate](const httplib::Request &req, httplib::Response &res) {
        return gate(req, res, true) ? 100 : res.status;
    });

    s.set_pre_routing_handler([this, gate](const httplib::Request &req, httplib::Response &res) {
        if (!state.gated && !gate(req, res, false)) return httplib::Server::HandlerResponse::Handled;
        // A push needs its body: let cpp-httplib read it (bounded by
        // Content-Length <= max body) and call the Post handler below.
        if (state.match.id == RouteId::push) return httplib::Server::HandlerResponse::Unhandled;
        guarded(res, [&] {
            Reply r = api_.handle(state.match, req, state.user);
            res.status = r.status;
            res.set_content(r.body, r.content_type);
        });
        if (state.close) close_after(res);
        return httplib::Server::HandlerResponse::Handled;
    });

    // Only pushes get here, with a path gate() has already checked.
    s.Post(R"(/v1/zones/[A-Za-z0-9_.-]{1,64}/push)", [this](const httplib::Request &req, httplib::Response &res) {
        guarded(res, [&] {
            Reply r = api_.handle(state.match, req, state.user);
            res.status = r.status;
            res.set_content(r.body, r.content_type);
        });
    });

    // Errors cpp-httplib answers by itself (unparsable request line or
    // headers, a body that could not be read, ...) get a JSON body too.
    s.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request &, httplib::Response &res) {
        if (res.has_header("Content-Type")) return httplib::Server::HandlerResponse::Unhandled;  // ours
        int status = res.status;
        if (status != 404 && status != 413 && status < 500) status = 400;  // 414, 416, ...: bad input
        res.status = status;
        res.set_content(error_body(status, code_for_status(status),
                                   status == 413 ? "the body is too large" : "malformed request"),
                        "application/json");
        return httplib::Server::HandlerResponse::Handled;
    }));

    s.set_exception_handler([](const httplib::Request &, httplib::Response &res, std::exception_ptr) {
        log_line("internal error: exception escaped a handler");
        set_error(res, 500, "internal", "internal error");
    });

    // One line per request: who (socket address, never a header), what route
    // template, status, time. Never the token, the path's ids or any body.
    s.set_logger([](const httplib::Request &req, const httplib::Response &res) {
        double secs = 0;
        const char *route = "-";
        if (state.started) {
            secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - state.start).count();
            route = state.match.tmpl;
        }
        metrics().observe(req.method, route, res.status, secs);
        char line[256];
        std::snprintf(line, sizeof line, "%s %s %s %d %.1fms", req.remote_addr.c_str(), req.method.c_str(), route,
                      res.status, secs * 1000);
        log_line(line);
        state = RequestState{};
    });
}

}  // namespace credsync
