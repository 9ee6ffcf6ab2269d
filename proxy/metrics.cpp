#include "metrics.h"

#include <sstream>
#include <tuple>

namespace credsync {

namespace {
const double kBounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                          0.5,   1,      2.5,   5,    10,   30,    60};
constexpr size_t kNumBounds = sizeof kBounds / sizeof kBounds[0];
}  // namespace

Metrics &metrics()
{
    static Metrics m;
    return m;
}

void Metrics::observe(const std::string &method, const std::string &route, int status, double seconds)
{
    std::lock_guard<std::mutex> lock(mu_);
    requests_[std::make_tuple(method, route, status)]++;
    Histogram &h = latency_[route];
    if (h.buckets.empty()) h.buckets.assign(kNumBounds, 0);
    for (size_t i = 0; i < kNumBounds; i++)
        if (seconds <= kBounds[i]) h.buckets[i]++;
    h.sum += seconds;
    h.count++;
}

void Metrics::count(const std::string &name)
{
    std::lock_guard<std::mutex> lock(mu_);
    counters_[name]++;
}

void Metrics::declare(const std::string &name)
{
    std::lock_guard<std::mutex> lock(mu_);
    counters_[name] += 0;
}

void Metrics::add_gauge(const std::string &name, const std::string &help, std::function<double()> fn)
{
    std::lock_guard<std::mutex> lock(mu_);
    gauges_.emplace_back(name, help, std::move(fn));
}

std::string Metrics::render()
{
    std::ostringstream o;
    decltype(gauges_) gauges;
    {
        std::lock_guard<std::mutex> lock(mu_);
        o << "# HELP credsync_http_requests_total HTTP requests by method, route template and status.\n"
             "# TYPE credsync_http_requests_total counter\n";
        for (auto &[key, n] : requests_)
            o << "credsync_http_requests_total{method=\"" << std::get<0>(key) << "\",route=\""
              << std::get<1>(key) << "\",status=\"" << std::get<2>(key) << "\"} " << n << "\n";
        o << "# HELP credsync_http_request_duration_seconds Time from request headers read to response written.\n"
             "# TYPE credsync_http_request_duration_seconds histogram\n";
        for (auto &[route, h] : latency_) {
            for (size_t i = 0; i < kNumBounds; i++)
                o << "credsync_http_request_duration_seconds_bucket{route=\"" << route << "\",le=\""
                  << kBounds[i] << "\"} " << h.buckets[i] << "\n";
            o << "credsync_http_request_duration_seconds_bucket{route=\"" << route
              << "\",le=\"+Inf\"} " << h.count << "\n"
              << "credsync_http_request_duration_seconds_sum{route=\"" << route << "\"} " << h.sum << "\n"
              << "credsync_http_request_duration_seconds_count{route=\"" << route << "\"} " << h.count << "\n";
        }
        for (auto &[name, n] : counters_)
            o << "# TYPE credsync_" << name << " counter\ncredsync_" << name << " " << n << "\n";
        gauges = gauges_;
    }
    // Gauges may take other locks (pool, listener): call them outside ours.
    for (auto &[name, help, fn] : gauges)
        o << "# HELP credsync_" << name << " " << help << "\n# TYPE credsync_" << name
          << " gauge\ncredsync_" << name << " " << fn() << "\n";
    return o.str();
}

}  // namespace credsync
