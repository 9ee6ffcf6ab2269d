#include "prompt.h"

#include <cstdio>
#include <fcntl.h>
#include <iostream>
#include <termios.h>
#include <unistd.h>

namespace credsync::cli {

bool interactive() { return isatty(STDIN_FILENO) == 1; }

std::optional<std::string> prompt_secret(const std::string &prompt)
{
    int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    struct termios old, noecho;
    bool have_tc = tcgetattr(fd, &old) == 0;
    if (have_tc) {
        noecho = old;
        noecho.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        noecho.c_lflag |= ECHONL;
        tcsetattr(fd, TCSAFLUSH, &noecho);
    }
    if (::write(fd, prompt.data(), prompt.size()) < 0) {
    }
    std::string line;
    char c;
    bool got = false;
    while (::read(fd, &c, 1) == 1) {
        got = true;
        if (c == '\n') break;
        line += c;
    }
    if (have_tc) tcsetattr(fd, TCSAFLUSH, &old);
    ::close(fd);
    if (!got) return std::nullopt;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

std::optional<std::string> read_line()
{
    std::string line;
    if (!std::getline(std::cin, line)) {
        if (line.empty()) return std::nullopt;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

}  // namespace credsync::cli
