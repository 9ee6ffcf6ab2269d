// Reading secrets: a no-echo prompt on the terminal, or lines from stdin.
#pragma once

#include <optional>
#include <string>

namespace credsync::cli {

// True when stdin is a terminal (prompts are possible).
bool interactive();
// Prompts on /dev/tty without echo; nullopt when there is no terminal.
std::optional<std::string> prompt_secret(const std::string &prompt);
// The next line of stdin without its line ending; nullopt at end of input.
std::optional<std::string> read_line();

}  // namespace credsync::cli
