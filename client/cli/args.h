// Command-line parsing for `credsync`: global options anywhere, one command,
// its positional arguments and its own flags (docs/client.md, "Commands").
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace credsync::cli {

// A command-line mistake: exit status 2.
struct UsageError {
    std::string message;
};

struct FlagSpec {
    std::string name;       // "--zone"
    enum { none, value, optional_number } arg = none;
};

struct Args {
    std::string server, home;
    bool json = false;
    bool help = false;
    std::string command;
    std::vector<std::string> positional;
    std::map<std::string, std::string> flags;  // "--zone" -> "work"; switches -> ""

    bool has(const std::string &f) const { return flags.count(f) > 0; }
    std::optional<std::string> get(const std::string &f) const
    {
        auto it = flags.find(f);
        if (it == flags.end()) return std::nullopt;
        return it->second;
    }
};

// The flags each command takes.
const std::vector<FlagSpec> &command_flags(const std::string &command);
bool known_command(const std::string &command);

Args parse(int argc, char **argv);

}  // namespace credsync::cli
