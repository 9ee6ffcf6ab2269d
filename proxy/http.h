// The HTTP server: cpp-httplib 0.11.4 set up defensively, the per-request gate
// (body framing, routing, auth) that runs before any body byte is read, the
// handler boundary that turns every exception into a JSON error, and the
// access log and metrics.
#pragma once

#include "auth.h"
#include "config.h"
#include "routes.h"

#include <httplib.h>

#include <memory>

namespace credsync {

class HttpServer {
public:
    HttpServer(const Config &cfg, Api &api, TokenAuth &auth);
    bool valid() const;               // false: TLS files could not be loaded
    bool bind();                      // binds --listen; false on failure
    void serve();                     // blocks until stop()
    void stop();

private:
    void setup();
    const Config &cfg_;
    Api &api_;
    TokenAuth &auth_;
    std::unique_ptr<httplib::Server> svr_;
};

}  // namespace credsync
