// Prometheus metrics: requests by route template and status, a latency
// histogram per route, and gauges read at scrape time. Labels never carry user
// ids, zones, items or tokens: only route templates like /v1/zones/{zone}/pull.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace credsync {

class Metrics {
public:
    void observe(const std::string &method, const std::string &route, int status, double seconds);
    void count(const std::string &name);  // a plain counter, e.g. longpoll_rejected_total
    void declare(const std::string &name);  // shows a counter at 0 before its first count
    // Gauges are computed when scraped.
    void add_gauge(const std::string &name, const std::string &help, std::function<double()> fn);
    std::string render();

private:
    struct Histogram {
        std::vector<long long> buckets;
        double sum = 0;
        long long count = 0;
    };
    std::mutex mu_;
    std::map<std::tuple<std::string, std::string, int>, long long> requests_;
    std::map<std::string, Histogram> latency_;
    std::map<std::string, long long> counters_;
    std::vector<std::tuple<std::string, std::string, std::function<double()>>> gauges_;
};

Metrics &metrics();

}  // namespace credsync
