// One client connection: credsync's own keep-alive loop around cpp-httplib's
// request parser, and the byte stream it parses from.
//
// Why not the library's loop: cpp-httplib 0.11.4 answers some requests by
// itself (an unknown method, a malformed Range, an over-long request line, a
// bad header line) without reading their bodies, and then keeps the
// connection open; it also makes a new 4 KiB read buffer for every request and
// drops whatever of the next request was in it. The body bytes of a refused
// request were then parsed as the next request on the connection: request
// smuggling, and through nginx's upstream keep-alive, answers handed to
// another client. Here the stream itself knows where each request ends (the
// head, then exactly Content-Length bytes), keeps one read buffer for the
// whole connection, and the loop keeps a connection only when the request's
// last byte was read. Whatever answered (the library or a handler of ours),
// a request that was not read whole ends the connection, with a lingering
// close so that the client still receives the answer.
//
// The stream also avoids the library's per-request costs: no poll before
// every read or write (the socket has SO_RCVTIMEO/SO_SNDTIMEO), one write per
// answer (the head and the body are sent together), and the peer's address is
// looked up once per connection, without getnameinfo.
#pragma once

#include <httplib.h>
#include <openssl/ssl.h>

#include <atomic>
#include <functional>
#include <string>

namespace credsync {

// The bytes of one accepted socket: plain TCP, or TLS over it.
class Transport {
public:
    explicit Transport(int fd, SSL *ssl = nullptr) : fd_(fd), ssl_(ssl) {}
    ~Transport();
    Transport(const Transport &) = delete;
    Transport &operator=(const Transport &) = delete;

    // > 0 bytes read, 0 end of stream, < 0 error or read timeout.
    ssize_t recv_some(char *p, size_t n);
    // Sends a, then b, all of both; false on error or write timeout.
    bool send_all(const char *a, size_t an, const char *b = nullptr, size_t bn = 0);
    // Decrypted bytes that TLS holds but we have not read yet.
    bool pending() const;
    int fd() const { return fd_; }
    bool tls() const { return ssl_ != nullptr; }
    // Sends TLS close_notify if any; then stops sending (FIN).
    void shutdown_write();

private:
    int fd_;
    SSL *ssl_;
};

// What the loop needs to know from the server's settings.
struct ConnectionLimits {
    int keepalive_timeout_ms = 5000;  // idle time allowed between two requests
    int keepalive_max = 100;          // requests served on one connection
    int stop_fd = -1;                 // readable once the server stops: idle connections end
    const std::atomic<bool> *stopping = nullptr;  // set too: the answer in progress is the last
    size_t max_head_bytes = 65536;    // request line and headers together
};

// cpp-httplib's parser reads from this. It knows which bytes belong to the
// current request: the head (at most max_head_bytes, until head_parsed()),
// then exactly the body length the head announced.
class ConnectionStream final : public httplib::Stream {
public:
    ConnectionStream(Transport &t, size_t max_head_bytes) : t_(t), max_head_(max_head_bytes) {}

    bool is_readable() const override;
    bool is_writable() const override { return true; }  // writes block with SO_SNDTIMEO
    ssize_t read(char *ptr, size_t size) override;
    ssize_t write(const char *ptr, size_t size) override;
    void get_remote_ip_and_port(std::string &ip, int &port) const override;
    void get_local_ip_and_port(std::string &ip, int &port) const override;
    socket_t socket() const override { return t_.fd(); }

    // The loop: a new request starts.
    void begin_request();
    // The head has been parsed. body_length is the Content-Length it gave
    // (0 when absent), or -1 when the body's end cannot be known (chunked,
    // a Content-Length that is malformed or repeated): such a request is
    // never read whole, so its connection always ends after the answer.
    void head_parsed(long long body_length);
    // Reads the rest of the body (to the announced end) into out, replacing
    // it; false when the client stopped sending first.
    bool read_body(std::string &out);
    // True when the request's every byte was read: its head was parsed and
    // its body read to the announced end. Only then may the connection serve
    // another request.
    bool request_read_whole() const;
    // Body bytes of this request not read yet (-1: unknown end).
    long long body_left() const { return body_left_; }
    // Sends what write() buffered.
    bool flush();
    // Bytes of a next request already received.
    bool has_buffered() const { return rpos_ < rbuf_.size() || t_.pending(); }

private:
    ssize_t fill();  // refills the consumed rbuf_ from the transport
    Transport &t_;
    size_t max_head_;
    std::string rbuf_;  // received, not yet consumed (rbuf_[rpos_..])
    size_t rpos_ = 0;
    std::string wbuf_;  // written, not yet sent
    bool head_done_ = false;
    long long body_left_ = 0;  // -1: unknown end
    size_t head_used_ = 0;
    mutable bool peer_known_ = false;
    mutable std::string peer_ip_;
    mutable int peer_port_ = 0;
    bool failed_ = false;  // a write failed: the answer did not go out
};

// Serves requests on the connection until the client is done, a request was
// not read whole, keepalive_max is reached or the server stops; then closes
// the socket (the transport's owner frees it). serve_one parses and answers
// one request (cpp-httplib's process_request): it gets whether this must be
// the connection's last answer, sets closed when the client asked to close,
// and returns false when the connection is unusable.
using ServeOne = std::function<bool(ConnectionStream &stream, bool last, bool &closed)>;
void serve_connection(Transport &t, const ConnectionLimits &limits, const ServeOne &serve_one);

// The TLS handshake on an accepted socket; nullptr when it fails.
SSL *accept_tls(SSL_CTX *ctx, int fd);

}  // namespace credsync
