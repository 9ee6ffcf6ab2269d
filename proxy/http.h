// The HTTP server: cpp-httplib 0.11.4's request parser driven by credsync's
// own connection loop (connection.h), the per-request gate (body framing,
// routing, auth, admission of large bodies) that runs before any body byte is
// read, the one path by which a request reaches a route handler (routes.h),
// the boundary that turns every exception into a JSON error, and the access
// log and metrics.
#pragma once

#include "admission.h"
#include "auth.h"
#include "config.h"
#include "connection.h"
#include "routes.h"

#include <httplib.h>

#include <atomic>
#include <memory>

namespace credsync {

struct RequestContext;

class HttpServer {
public:
    HttpServer(const Config &cfg, Api &api, TokenAuth &auth);
    ~HttpServer();
    bool valid() const;  // false: TLS files could not be loaded
    bool bind();         // binds --listen; false when the address is taken or invalid
    void serve();        // blocks until stop()
    // Stops accepting, ends idle connections and lets requests in flight
    // finish. Safe from any thread, before, during or after serve(): a stop
    // that comes before serve() has started makes serve() return at once.
    void stop();

private:
    template <class Base>
    class Server;
    void setup(httplib::Server &s);
    bool gate(const httplib::Request &req, httplib::Response &res, RequestContext &ctx);
    void respond(const httplib::Request &req, httplib::Response &res, RequestContext &ctx);

    const Config &cfg_;
    Api &api_;
    TokenAuth &auth_;
    Admission large_bodies_;
    ConnectionLimits limits_;
    int stop_fd_ = -1;                     // eventfd, readable once stop() ran
    std::atomic<bool> stop_requested_{false};
    std::atomic<bool> serving_{false};     // serve() was entered
    std::atomic<bool> serve_returned_{false};
    std::unique_ptr<httplib::Server> svr_;
};

}  // namespace credsync
