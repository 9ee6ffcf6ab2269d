#include "connection.h"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

namespace credsync {

namespace {

// How long, and how much, a lingering close waits for the client to stop
// sending before the socket is closed. Closing a socket that still has
// unread bytes makes the kernel send a reset, and a reset can make the client
// discard our answer before it has read it.
constexpr int kLingerMs = 1000;
constexpr size_t kLingerBytes = 1 << 20;

// The read buffer: one per connection, kept across its requests.
constexpr size_t kReadChunk = 16384;
// Writes are gathered up to this size and sent with the next write or at the
// end of the answer, so that a head and a small body go out in one send.
constexpr size_t kWriteGather = 16384;

bool wait_readable(int fd, int stop_fd, int timeout_ms)
{
    pollfd p[2] = {{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
    for (;;) {
        int n = ::poll(p, stop_fd >= 0 ? 2 : 1, timeout_ms);
        if (n < 0 && errno == EINTR) continue;
        return n > 0 && p[0].revents != 0;
    }
}

}  // namespace

Transport::~Transport()
{
    if (ssl_) SSL_free(ssl_);
    ::close(fd_);
}

ssize_t Transport::recv_some(char *p, size_t n)
{
    if (ssl_) {
        int r = SSL_read(ssl_, p, static_cast<int>(std::min<size_t>(n, INT32_MAX)));
        if (r > 0) return r;
        return SSL_get_error(ssl_, r) == SSL_ERROR_ZERO_RETURN ? 0 : -1;
    }
    for (;;) {
        ssize_t r = ::recv(fd_, p, n, 0);
        if (r < 0 && errno == EINTR) continue;
        return r;
    }
}

bool Transport::send_all(const char *a, size_t an, const char *b, size_t bn)
{
    if (ssl_) {
        for (auto [p, n] : {std::pair{a, an}, std::pair{b, bn}}) {
            while (n > 0) {
                int w = SSL_write(ssl_, p, static_cast<int>(std::min<size_t>(n, INT32_MAX)));
                if (w <= 0) return false;
                p += w;
                n -= static_cast<size_t>(w);
            }
        }
        return true;
    }
    iovec v[2] = {{const_cast<char *>(a), an}, {const_cast<char *>(b), bn}};
    iovec *iov = v;
    int count = bn > 0 ? 2 : 1;
    while (count > 0) {
        msghdr m{};
        m.msg_iov = iov;
        m.msg_iovlen = static_cast<size_t>(count);
        ssize_t w = ::sendmsg(fd_, &m, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;  // includes the SO_SNDTIMEO timeout
        }
        size_t done = static_cast<size_t>(w);
        while (count > 0 && done >= iov->iov_len) {
            done -= iov->iov_len;
            iov++;
            count--;
        }
        if (count > 0) {
            iov->iov_base = static_cast<char *>(iov->iov_base) + done;
            iov->iov_len -= done;
        }
    }
    return true;
}

bool Transport::pending() const { return ssl_ && SSL_pending(ssl_) > 0; }

void Transport::shutdown_write()
{
    if (ssl_) SSL_shutdown(ssl_);
    ::shutdown(fd_, SHUT_WR);
}

bool ConnectionStream::is_readable() const
{
    if (has_buffered()) return true;
    pollfd p{t_.fd(), POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
}

void ConnectionStream::begin_request()
{
    head_done_ = false;
    head_used_ = 0;
    body_left_ = 0;
    failed_ = false;
}

void ConnectionStream::head_parsed(long long body_length)
{
    head_done_ = true;
    body_left_ = body_length;
}

bool ConnectionStream::request_read_whole() const { return head_done_ && body_left_ == 0 && !failed_; }

// Called only when everything buffered has been consumed, so the buffer
// starts over and never holds more than one chunk.
ssize_t ConnectionStream::fill()
{
    rpos_ = 0;
    rbuf_.resize(kReadChunk);
    ssize_t n = t_.recv_some(&rbuf_[0], kReadChunk);
    rbuf_.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return n;
}

ssize_t ConnectionStream::read(char *ptr, size_t size)
{
    // An answer we have gathered must go out before we wait for the client:
    // "100 Continue" is written just before the body is read.
    if (!wbuf_.empty() && !flush()) return -1;
    // The parser may only read what belongs to this request: the head up to
    // its limit, then the body to its announced end, and never the next
    // request's bytes (those stay buffered for it).
    size_t allowed;
    if (!head_done_) allowed = max_head_ - head_used_;
    else if (body_left_ > 0) allowed = static_cast<size_t>(body_left_);
    else allowed = 0;
    if (allowed == 0) return -1;
    size_t want = std::min(size, allowed);
    if (rpos_ == rbuf_.size()) {
        ssize_t n = fill();
        if (n <= 0) return n;
    }
    size_t n = std::min(want, rbuf_.size() - rpos_);
    std::memcpy(ptr, rbuf_.data() + rpos_, n);
    rpos_ += n;
    if (!head_done_) head_used_ += n;
    else body_left_ -= static_cast<long long>(n);
    return static_cast<ssize_t>(n);
}

bool ConnectionStream::read_body(std::string &out)
{
    if (!head_done_ || body_left_ < 0) return false;
    if (!wbuf_.empty() && !flush()) return false;  // "100 Continue" first
    size_t n = static_cast<size_t>(body_left_);
    out.resize(n);  // exactly the body's size: no growth by doubling
    size_t got = std::min(n, rbuf_.size() - rpos_);
    std::memcpy(&out[0], rbuf_.data() + rpos_, got);
    rpos_ += got;
    while (got < n) {
        // Past what is buffered, read straight into the body.
        ssize_t r = t_.recv_some(&out[got], n - got);
        if (r <= 0) {
            body_left_ -= static_cast<long long>(got);
            return false;
        }
        got += static_cast<size_t>(r);
    }
    body_left_ = 0;
    return true;
}

ssize_t ConnectionStream::write(const char *ptr, size_t size)
{
    if (failed_) return -1;
    if (wbuf_.size() + size <= kWriteGather) {
        wbuf_.append(ptr, size);
        return static_cast<ssize_t>(size);
    }
    // Gathered bytes and this write go out together; a large body is never
    // copied into the buffer.
    bool ok = t_.send_all(wbuf_.data(), wbuf_.size(), ptr, size);
    wbuf_.clear();
    if (!ok) {
        failed_ = true;
        return -1;
    }
    return static_cast<ssize_t>(size);
}

bool ConnectionStream::flush()
{
    if (failed_) return false;
    if (wbuf_.empty()) return true;
    bool ok = t_.send_all(wbuf_.data(), wbuf_.size());
    wbuf_.clear();
    if (!ok) failed_ = true;
    return ok;
}

void ConnectionStream::get_remote_ip_and_port(std::string &ip, int &port) const
{
    // Once per connection, and numeric: the access log needs the address, not
    // a name (cpp-httplib asks getnameinfo on every request).
    if (!peer_known_) {
        peer_known_ = true;
        sockaddr_storage a{};
        socklen_t len = sizeof a;
        char text[INET6_ADDRSTRLEN] = "";
        if (::getpeername(t_.fd(), reinterpret_cast<sockaddr *>(&a), &len) == 0) {
            if (a.ss_family == AF_INET) {
                auto *in = reinterpret_cast<sockaddr_in *>(&a);
                inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
                peer_port_ = ntohs(in->sin_port);
            } else if (a.ss_family == AF_INET6) {
                auto *in6 = reinterpret_cast<sockaddr_in6 *>(&a);
                inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
                peer_port_ = ntohs(in6->sin6_port);
            }
        }
        peer_ip_ = text;
    }
    ip = peer_ip_;
    port = peer_port_;
}

void ConnectionStream::get_local_ip_and_port(std::string &ip, int &port) const
{
    // Nothing in the proxy uses the local address; not looked up.
    ip.clear();
    port = 0;
}

void serve_connection(Transport &t, const ConnectionLimits &limits, const ServeOne &serve_one)
{
    ConnectionStream stream(t, limits.max_head_bytes);
    bool read_whole = true;
    for (int served = 0; served < limits.keepalive_max; served++) {
        if (!stream.has_buffered() && !wait_readable(t.fd(), limits.stop_fd, limits.keepalive_timeout_ms)) break;
        stream.begin_request();
        bool closed = false;
        bool last = served + 1 == limits.keepalive_max || (limits.stopping && limits.stopping->load());
        bool ok = serve_one(stream, last, closed);
        bool sent = stream.flush();
        read_whole = stream.request_read_whole();
        if (!ok || !sent || closed || last || !read_whole) break;
    }
    if (!read_whole) {
        // The request's end was never reached, so bytes of it may still
        // arrive: stop sending, then read and discard until the client
        // closes (bounded), so that it receives our answer before the close.
        t.shutdown_write();
        char scratch[16384];
        size_t drained = 0;
        auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(kLingerMs);
        while (drained < kLingerBytes) {
            int left = static_cast<int>(
                std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count());
            if (left <= 0 || !wait_readable(t.fd(), -1, left)) break;
            ssize_t n = ::recv(t.fd(), scratch, sizeof scratch, 0);
            if (n <= 0) break;
            drained += static_cast<size_t>(n);
        }
    }
}

SSL *accept_tls(SSL_CTX *ctx, int fd)
{
    SSL *ssl = SSL_new(ctx);
    if (!ssl) return nullptr;
    SSL_set_fd(ssl, fd);
    // Blocking, bounded by the socket's SO_RCVTIMEO/SO_SNDTIMEO.
    if (SSL_accept(ssl) != 1) {
        SSL_free(ssl);
        return nullptr;
    }
    return ssl;
}

}  // namespace credsync
