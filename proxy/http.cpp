#include "http.h"

#include "codec.h"
#include "errors.h"
#include "log.h"
#include "metrics.h"
#include "validate.h"

#include <chrono>
#include <cstdio>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <thread>
#include <type_traits>
#include <unistd.h>

namespace credsync {

// What the proxy knows about the request a worker thread is serving, from
// its head to its access-log line. cpp-httplib calls our hooks with only
// (Request, Response), so the connection loop makes one RequestContext per
// request and makes it reachable through `current` while that request is
// served; nothing in it outlives the request.
struct RequestContext {
    explicit RequestContext(ConnectionStream &s, bool last) : stream(s), last(last) { current = this; }
    ~RequestContext() { current = nullptr; }
    RequestContext(const RequestContext &) = delete;
    RequestContext &operator=(const RequestContext &) = delete;

    ConnectionStream &stream;  // where the head came from and the body is read
    bool last;                 // the connection closes after this answer anyway
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    RouteMatch match;          // the route of the request line (set by the gate)
    std::string user;          // the token's user, once the gate checked it
    bool gated = false;        // the gate let the request in (maybe from the Expect hook)
    Admission::Permit large_body;  // held while a large body is read and handled

    static thread_local RequestContext *current;
};
thread_local RequestContext *RequestContext::current = nullptr;

// cpp-httplib's server (plain or TLS) with credsync's connection loop in
// place of the library's: see connection.h for why.
template <class Base>
class HttpServer::Server final : public Base {
public:
    template <class... Args>
    explicit Server(const ConnectionLimits &limits, Args &&...args) : Base(std::forward<Args>(args)...), limits_(limits)
    {
    }

private:
    bool process_and_close_socket(socket_t sock) override
    {
        SSL *ssl = nullptr;
        if constexpr (std::is_base_of_v<httplib::SSLServer, Base>) {
            ssl = accept_tls(this->ssl_context(), sock);
            if (!ssl) {
                ::close(sock);
                return false;
            }
        }
        Transport transport(sock, ssl);
        serve_connection(transport, limits_, [this](ConnectionStream &stream, bool last, bool &closed) {
            RequestContext ctx(stream, last);
            return this->process_request(stream, last, closed, [&ctx](httplib::Request &req) {
                // The head is parsed; nothing has routed it yet.
                // No compression, ever: it would hand any client a CPU
                // amplifier (brotli at quality 11 on a whole pull page).
                req.headers.erase("Accept-Encoding");
                // Ranges mean nothing in this API; cpp-httplib would slice
                // our JSON by them.
                req.ranges.clear();
                ctx.stream.head_parsed(body_length(req.headers));
            });
        });
        return true;
    }

    // Where the body ends, as the head says: Content-Length, 0 without one,
    // -1 when it cannot be known (chunked, or a Content-Length that is
    // malformed or repeated). Such requests are refused by the gate, and
    // their connection ends after the answer.
    static long long body_length(const httplib::Headers &h)
    {
        if (h.find("Transfer-Encoding") != h.end()) return -1;
        size_t n = h.count("Content-Length");
        if (n == 0) return 0;
        if (n > 1) return -1;
        auto v = parse_int(h.find("Content-Length")->second, 0, INT64_MAX);
        return v ? *v : -1;
    }

    const ConnectionLimits &limits_;
};

namespace {

void set_error(httplib::Response &res, const RouteMatch &match, int status, const std::string &code,
               const std::string &message, const nlohmann::json &extra = nlohmann::json::object())
{
    res.status = status;
    res.set_content(error_body(status, code, message, extra), "application/json");
    if (status == 401 && code == "unauthorized") res.set_header("WWW-Authenticate", "Bearer");
    if (status == 503) res.set_header("Retry-After", "1");
    if (status == 405) res.set_header("Allow", match.allow);
}

// The handler boundary: whatever happens below becomes a JSON answer. Only
// ApiError messages reach clients; anything else is logged and is a bare 500.
template <class Fn>
void guarded(httplib::Response &res, const RouteMatch &match, Fn fn)
{
    try {
        fn();
    } catch (const ApiError &e) {
        set_error(res, match, e.status, e.code, e.what(), e.extra);
        if (e.retry_after > 0) res.set_header("Retry-After", std::to_string(e.retry_after));
    } catch (const std::exception &e) {
        log_line(std::string("internal error: ") + e.what());
        set_error(res, match, 500, "internal", "internal error");
    } catch (...) {
        log_line("internal error: unknown exception");
        set_error(res, match, 500, "internal", "internal error");
    }
}

// Says in the answer what the connection loop will do: a request that was
// not read whole ends its connection. (When `last`, cpp-httplib adds the
// header itself.)
void announce_close(httplib::Response &res, const RequestContext &ctx)
{
    if (!ctx.last && !ctx.stream.request_read_whole() && !res.has_header("Connection"))
        res.set_header("Connection", "close");
}

}  // namespace

HttpServer::HttpServer(const Config &cfg, Api &api, TokenAuth &auth)
    : cfg_(cfg), api_(api), auth_(auth), large_bodies_(cfg.max_large_bodies)
{
    stop_fd_ = eventfd(0, EFD_CLOEXEC);
    limits_.keepalive_timeout_ms = cfg_.keepalive_timeout_s * 1000;
    limits_.keepalive_max = cfg_.keepalive_max;
    limits_.stop_fd = stop_fd_;
    limits_.stopping = &stop_requested_;
    if (!cfg_.tls_cert.empty())
        svr_ = std::make_unique<Server<httplib::SSLServer>>(limits_, cfg_.tls_cert.c_str(), cfg_.tls_key.c_str());
    else
        svr_ = std::make_unique<Server<httplib::Server>>(limits_);
    setup(*svr_);
}

HttpServer::~HttpServer()
{
    svr_.reset();
    if (stop_fd_ >= 0) ::close(stop_fd_);
}

bool HttpServer::valid() const { return svr_->is_valid() && stop_fd_ >= 0; }

bool HttpServer::bind() { return svr_->bind_to_port(cfg_.listen_host, cfg_.listen_port); }

void HttpServer::serve()
{
    serving_ = true;
    if (!stop_requested_) svr_->listen_after_bind();
    serve_returned_ = true;
}

void HttpServer::stop()
{
    stop_requested_ = true;
    uint64_t one = 1;
    if (stop_fd_ >= 0 && ::write(stop_fd_, &one, sizeof one) < 0) {
        // Only idle keep-alive connections wait for it; they end by their timeout.
    }
    // cpp-httplib's stop() does nothing before its listen loop runs
    // (is_running()), so a stop that came early would be lost: wait for the
    // loop to start, unless serve() has not been entered (it will see
    // stop_requested_ and return) or has returned already.
    while (serving_ && !serve_returned_) {
        if (svr_->is_running()) {
            svr_->stop();
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

// Everything that can be decided from the request line and headers, before a
// single body byte is read. Returns false with res filled in to refuse.
bool HttpServer::gate(const httplib::Request &req, httplib::Response &res, RequestContext &ctx)
{
    ctx.match = match_route(req.method, req.path, cfg_.open_registration);
    bool ok = false;
    guarded(res, ctx.match, [&] {
        check_request_head(req.headers, ctx.match, cfg_.max_body_bytes);
        // The token decides the user, before any body is read.
        if (ctx.match.needs_auth) ctx.user = auth_.user_for(req.get_header_value("Authorization"));
        if (ctx.match.id == RouteId::push &&
            ctx.stream.body_left() >= static_cast<long long>(cfg_.large_body_bytes) &&
            !large_bodies_.acquire(ctx.large_body, std::chrono::milliseconds(cfg_.pool_timeout_ms)))
            throw ApiError(503, "unavailable", "too many large requests at once; retry shortly");
        ok = true;
    });
    ctx.gated = ok;
    return ok;
}

// The one path from a request to its route handler.
void HttpServer::respond(const httplib::Request &req, httplib::Response &res, RequestContext &ctx)
{
    guarded(res, ctx.match, [&] {
        if (ctx.match.body != Body::none) {
            // The body is read here, exactly Content-Length bytes, into the
            // request (not const where it lives) so that nothing copies it.
            auto &body = const_cast<httplib::Request &>(req).body;
            if (!ctx.stream.read_body(body)) throw bad_request("the request body did not arrive in full");
        }
        Reply r = api_.handle(ctx.match, req, ctx.user);
        res.status = r.status;
        res.body = std::move(r.body);
        res.set_header("Content-Type", r.content_type);
    });
    ctx.large_body.release();
}

void HttpServer::setup(httplib::Server &s)
{
    // One thread per open connection: the pool size bounds concurrent
    // connections; more wait in the accept queue.
    size_t threads = static_cast<size_t>(cfg_.threads);
    s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    // Applied by cpp-httplib to every accepted socket (SO_RCVTIMEO and
    // SO_SNDTIMEO): every read and write of a connection is bounded by them.
    s.set_read_timeout(cfg_.read_timeout_s, 0);
    s.set_write_timeout(cfg_.write_timeout_s, 0);
    // Only for the Keep-Alive header cpp-httplib writes: the connection
    // loop (limits_) applies the same two values.
    s.set_keep_alive_timeout(cfg_.keepalive_timeout_s);
    s.set_keep_alive_max_count(static_cast<size_t>(cfg_.keepalive_max));
    s.set_tcp_nodelay(true);
    // cpp-httplib's default options add SO_REUSEPORT, with which a second
    // proxy on a port already served starts silently and takes half of the
    // connections. SO_REUSEADDR alone lets a restart bind at once while
    // refusing a port somebody listens on.
    s.set_socket_options([](socket_t sock) {
        int yes = 1;
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    s.set_default_headers({{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}});

    // "Expect: 100-continue": decide before telling the client to send the body.
    s.set_expect_100_continue_handler([this](const httplib::Request &req, httplib::Response &res) {
        RequestContext &ctx = *RequestContext::current;
        if (gate(req, res, ctx)) return 100;
        // cpp-httplib writes this answer as it is, without the
        // Content-Length it adds on the routed path.
        res.set_header("Content-Length", std::to_string(res.body.size()));
        return res.status;
    });

    // Every request the library parsed is answered here; cpp-httplib's own
    // routing (and its body reading) never runs.
    s.set_pre_routing_handler([this](const httplib::Request &req, httplib::Response &res) {
        RequestContext &ctx = *RequestContext::current;
        if (ctx.gated || gate(req, res, ctx)) respond(req, res, ctx);
        announce_close(res, ctx);
        return httplib::Server::HandlerResponse::Handled;
    });

    // Errors cpp-httplib answers by itself (unparsable request line or
    // headers, an unknown method, a malformed Range, an over-long URI) get a
    // JSON body too. Their bodies were never read, so the connection ends.
    s.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request &, httplib::Response &res) {
        RequestContext &ctx = *RequestContext::current;
        announce_close(res, ctx);
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
        set_error(res, RequestContext::current->match, 500, "internal", "internal error");
    });

    // One line per request: who (socket address, never a header), what route
    // template, status, time. Never the token, the path's ids or any body.
    s.set_logger([](const httplib::Request &req, const httplib::Response &res) {
        const RequestContext &ctx = *RequestContext::current;
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx.start).count();
        // The method as the client wrote it only when it is one the API has:
        // anything else would let a client write into the log and grow the
        // metrics by one series per made-up method.
        const std::string &m = req.method;
        const char *method = m == "GET" || m == "HEAD" || m == "POST" || m == "PUT" || m == "DELETE" ? m.c_str() : "other";
        metrics().observe(method, ctx.match.tmpl, res.status, secs);
        char line[256];
        std::snprintf(line, sizeof line, "%s %s %s %d %.1fms", req.remote_addr.c_str(), method, ctx.match.tmpl,
                      res.status, secs * 1000);
        log_line(line);
    });
}

}  // namespace credsync
