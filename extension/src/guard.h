// The C++/PostgreSQL border.
//
// ereport(ERROR) is a longjmp that skips C++ destructors, and a C++
// exception escaping into PostgreSQL kills the backend. So C++ code that may
// throw (or owns objects with destructors) runs inside run_guarded(): the
// exception is caught, its message copied into a static buffer, and the
// ERROR is raised only after the try/catch has ended and every C++ object
// is destroyed. Code inside must not call anything that can raise an ERROR
// (palloc, SPI, fmgr, detoasting): do that work before or after.
#pragma once
#include <exception>

#include "pg.h"

namespace credsync {

[[noreturn]] void raise_cpp_failure(const char *what, const char *message);

template <typename Work>
void run_guarded(const char *what, Work &&work)
{
    static char message[256];
    bool failed = false;
    try {
        work();
    } catch (const std::exception &e) {
        strlcpy(message, e.what(), sizeof message);
        failed = true;
    } catch (...) {
        strlcpy(message, "unknown C++ exception", sizeof message);
        failed = true;
    }
    if (failed)
        raise_cpp_failure(what, message);
}

}  // namespace credsync
