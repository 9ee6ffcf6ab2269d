#include "args.h"

#include <cctype>

namespace credsync::cli {

namespace {

const std::map<std::string, std::vector<FlagSpec>> &table()
{
    using F = FlagSpec;
    static const std::map<std::string, std::vector<FlagSpec>> t = {
        {"signup", {{"--device", F::value}, {"--password-stdin"}}},
        {"login", {{"--device", F::value}, {"--password-stdin"}}},
        {"attach", {{"--device", F::value}, {"--key-from", F::value}}},
        {"logout", {{"--force"}}},
        {"add",
         {{"--username", F::value}, {"--url", F::value}, {"--notes", F::value}, {"--zone", F::value},
          {"--password-stdin"}, {"--generate", F::optional_number}}},
        {"list", {{"--zone", F::value}}},
        {"show", {}},
        {"edit",
         {{"--title", F::value}, {"--username", F::value}, {"--url", F::value}, {"--notes", F::value},
          {"--password-stdin"}, {"--generate", F::optional_number}}},
        {"rm", {}},
        {"sync", {{"--watch"}, {"--full"}}},
        {"status", {}},
        {"devices", {}},
        {"passwd", {{"--logout-others"}, {"--password-stdin"}}},
        {"help", {}},
        {"version", {}},
    };
    return t;
}

bool all_digits(const std::string &s)
{
    if (s.empty()) return false;
    for (char c : s)
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    return true;
}

}  // namespace

bool known_command(const std::string &command) { return table().count(command) > 0; }

const std::vector<FlagSpec> &command_flags(const std::string &command) { return table().at(command); }

Args parse(int argc, char **argv)
{
    Args a;
    std::vector<std::string> rest;
    bool only_positional = false;
    for (int i = 1; i < argc; i++) {
        std::string arg = argv[i];
        if (only_positional) {
            rest.push_back(arg);
            continue;
        }
        if (arg == "--") {
            only_positional = true;
            continue;
        }
        std::string name = arg, inline_value;
        bool has_inline = false;
        if (arg.rfind("--", 0) == 0) {
            auto eq = arg.find('=');
            if (eq != std::string::npos) {
                name = arg.substr(0, eq);
                inline_value = arg.substr(eq + 1);
                has_inline = true;
            }
        }
        auto value = [&]() -> std::string {
            if (has_inline) return inline_value;
            if (i + 1 >= argc) throw UsageError{name + " needs a value"};
            return argv[++i];
        };
        if (name == "--server") {
            a.server = value();
        } else if (name == "--home") {
            a.home = value();
        } else if (name == "--json") {
            a.json = true;
        } else if (name == "--help" || name == "-h") {
            a.help = true;
        } else if (a.command.empty() && arg.rfind("-", 0) != 0) {
            a.command = arg;
            if (!known_command(a.command)) throw UsageError{"unknown command '" + a.command + "'"};
        } else if (arg.rfind("--", 0) == 0 && !a.command.empty()) {
            const FlagSpec *spec = nullptr;
            for (auto &f : command_flags(a.command))
                if (f.name == name) spec = &f;
            if (!spec) throw UsageError{"'" + a.command + "' has no option " + name};
            if (spec->arg == FlagSpec::none) {
                if (has_inline) throw UsageError{name + " takes no value"};
                a.flags[name] = "";
            } else if (spec->arg == FlagSpec::value) {
                a.flags[name] = value();
            } else {  // --generate [N]
                std::string n;
                if (has_inline)
                    n = inline_value;
                else if (i + 1 < argc && all_digits(argv[i + 1]))
                    n = argv[++i];
                if (!n.empty() && !all_digits(n)) throw UsageError{name + " takes a number"};
                a.flags[name] = n;
            }
        } else if (arg.rfind("-", 0) == 0 && arg != "-") {
            throw UsageError{"unknown option " + arg};
        } else {
            rest.push_back(arg);
        }
    }
    a.positional = rest;
    return a;
}

}  // namespace credsync::cli
