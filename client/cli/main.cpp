// `credsync`: a command-line password manager on the credsync client library.
// Exit status: 0 success, 1 failure (one line on stderr), 2 bad usage.
#include "args.h"
#include "commands.h"

#include "credsync/error.h"

#include <cstdio>
#include <exception>
#include <iostream>

int main(int argc, char **argv)
{
    using namespace credsync::cli;
    try {
        Args args = parse(argc, argv);
        if (args.command.empty() && !args.help) throw UsageError{"no command"};
        if (args.help || args.command == "help") {
            print_help(args.command == "help" ? "" : args.command);
            return 0;
        }
        return run(args);
    } catch (const UsageError &e) {
        std::fprintf(stderr, "credsync: %s (see credsync --help)\n", e.message.c_str());
        return 2;
    } catch (const credsync::Error &e) {
        std::fprintf(stderr, "credsync: %s\n", e.what());
        return 1;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "credsync: unexpected error: %s\n", e.what());
        return 1;
    }
}
