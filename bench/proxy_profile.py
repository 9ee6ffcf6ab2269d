#!/usr/bin/env python3
"""Where does credsync-proxy's CPU go, per request? Summarises a `perf record
-e cpu-clock --call-graph dwarf -p <proxy>` into the steps of a request.

usage: proxy_profile.py perf.data [--us US] [--generic] [--json FILE]

Each sample is charged to one step: walking its stack from the leaf towards
the thread's start, the first frame that belongs to a known step names it (so
malloc under the push parser is the parser's, a recv under libpq is libpq's
read). With --us (the proxy's CPU microseconds per request, measured from
/proc in the same run) each share is also given in microseconds per request.
Kernel time is further split by the system call it was spent in. --generic
(for another process, such as nginx's workers) leaves out the steps, which
name the proxy's functions.
"""
import collections
import re
import sys

from perf_script import short_symbol, stacks

data = sys.argv[1]
US = float(sys.argv[sys.argv.index("--us") + 1]) if "--us" in sys.argv else None
GENERIC = "--generic" in sys.argv
JSON = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None

# (step, pattern on the frame's symbol); checked leaf to root, first match wins.
# Frames in libpq (stripped: its internal functions have no names) make the
# step "libpq", split below by the system call the sample was in.
STEPS = [
    ("HTTP: wait for the next request (poll)", r"wait_readable|ConnectionStream::is_readable"),
    ("HTTP: read the request (recv)", r"Transport::recv_some|ConnectionStream::fill|ConnectionStream::read_body"),
    ("HTTP: send the answer (sendmsg)", r"Transport::send_all"),
    ("libpq", r"^PQ|^pq"),
    ("access log (line, queue, writer thread)", r"LogQueue|credsync::log_line|credsync::log_flush"),
    ("metrics (observe)", r"credsync::Metrics::"),
    ("token check (SHA-256, cache)", r"credsync::TokenAuth::|credsync::sha256"),
    ("query parameters (binary arrays)", r"credsync::bytea_array_binary|credsync::uuid_array_text"
                                         r"|credsync::int8_array_text|credsync::be_int64|credsync::put_be32"),
    ("push body: parse and check (SAX, base64)", r"credsync::parse_push_body|credsync::base64_decode"
                                                 r"|credsync::base64_valid|credsync::too_many_records"),
    ("answer: encode the JSON (base64, uuids)", r"credsync::pull_page_json|credsync::push_answer_json"
                                                r"|credsync::append_|credsync::base64_encode|credsync::uuid_"
                                                r"|credsync::error_body"),
    ("route match and head checks", r"credsync::match_route|credsync::check_request_head|credsync::parse_pull_params"
                                    r"|credsync::parse_int|credsync::has_json_content_type|credsync::is_zone"),
    ("pool: lease and return a connection", r"credsync::Pool::|credsync::Lease::~Lease|credsync::Lease::prepared_conn"),
    ("handler, the rest (Api, Lease::run)", r"credsync::Api::|credsync::Lease::run"),
    ("cpp-httplib: parse the request head", r"httplib::detail::read_headers|httplib::detail::parse_|"
                                            r"stream_line_reader|httplib::Server::parse_request_line"),
    ("cpp-httplib: write the answer head", r"httplib::Server::write_response|httplib::detail::write_"),
    ("cpp-httplib: the rest (Request/Response objects, headers)", r"httplib::"),
    ("HTTP: connection loop and hooks", r"credsync::HttpServer::|credsync::serve_connection|credsync::ConnectionStream::"
                                        r"|process_and_close_socket|RequestContext"),
    ("accept loop and thread pool", r"httplib::ThreadPool|listen_internal"),
    ("long-poll listener thread", r"credsync::Listener::"),
]
LIBPQ = {"poll": "libpq: wait for the database (poll)", "ppoll": "libpq: wait for the database (poll)",
         "recvfrom": "libpq: read the result (recv)", "recv": "libpq: read the result (recv)",
         "sendto": "libpq: send the query (send)", "send": "libpq: send the query (send)"}
STEPS = [(name, re.compile(p)) for name, p in STEPS]

# Frames as (symbol, dso), leaf first.
samples = [[(sym, dso) for _, sym, dso in s] for s in stacks(data, "comm,tid,ip,sym,dso")]


def step_of(stack):
    for sym, dso in stack:
        if "libpq" in dso:
            name = "libpq"
        else:
            name = next((n for n, pat in STEPS if pat.search(sym)), None)
        if name == "libpq":
            if "kernel" in stack[0][1]:
                return LIBPQ.get(syscall_of(stack), "libpq: other system calls")
            return "libpq: build the query, parse the result"
        if name:
            return name
    return "other"


def short(sym):
    return re.sub(r"\(.*", "", short_symbol(sym))


def syscall_of(stack):
    """For a sample in the kernel, the system call it was in, named by the libc
    function that made it (recv, send, sendmsg, writev, poll, epoll_wait, futex
    for the condition variables and mutexes, ...)."""
    user = next((sym for sym, dso in stack if "kernel" not in dso), "")
    name = re.sub(r"_syscall$", "", re.sub(r"^(__GI___libc_|__GI___|__libc_|__GI_|__)", "", user))
    if re.search(r"futex|pthread_cond|pthread_mutex|lll_", name):
        return "futex"
    if name in SYSCALLS:
        return name
    return "(none: interrupt, page fault)"


SYSCALLS = set("""poll ppoll epoll_wait epoll_ctl recv recvfrom recvmsg send sendto sendmsg write writev read readv
    accept accept4 close connect socket getsockopt setsockopt getpeername shutdown clock_nanosleep nanosleep
    mprotect munmap mmap madvise brk""".split())


def kernel_activity(stack):
    """What a kernel sample was doing: switching threads, waking one, or the rest."""
    kframes = [sym for sym, dso in stack if "kernel" in dso]
    if any(f in ("__schedule", "schedule", "finish_task_switch.isra.0", "finish_task_switch") for f in kframes[:4]):
        return "switch"
    if any(f.startswith(("try_to_wake_up", "sock_def_readable", "__wake_up", "wake_up_q", "futex_wake"))
           for f in kframes[:4]):
        return "wake"
    return "work"


by_step = collections.Counter()
kernel_by_step = collections.Counter()  # (step, switch|wake|work)
by_syscall = collections.Counter()      # (syscall, switch|wake|work)
leaf = collections.Counter()
other_leaf = collections.Counter()
for s in samples:
    st = step_of(s)
    by_step[st] += 1
    in_kernel = bool(s) and "kernel" in s[0][1]
    if in_kernel:
        act = kernel_activity(s)
        kernel_by_step[(st, act)] += 1
        by_syscall[(syscall_of(s), act)] += 1
    leaf[(short(s[0][0]) if s else "?", "kernel" if in_kernel else "user")] += 1
    if st == "other":
        user = [short(sym) for sym, dso in s if "kernel" not in dso and sym != "[unknown]"]
        other_leaf[user[0] if user else "(kernel only)"] += 1

total = sum(by_step.values()) or 1
kernel_total = sum(kernel_by_step.values())
ACTS = ("switch", "wake", "work")


def us(n):
    return "%6.1f" % (US * n / total) if US is not None else "     -"


def pct(n):
    return "%5.1f%%" % (100.0 * n / total)


print("perf samples: %d (cpu-clock, 999 Hz, DWARF call graphs); in the kernel: %.0f%%"
      % (total, 100.0 * kernel_total / total))
print("us = microseconds per request (share x the proxy's CPU per request measured from /proc in this run).")
print("kernel: switch = switching threads out/in (blocking, preemption), wake = waking another thread")
print("(futex, socket readiness), work = the rest (TCP/unix socket, poll set-up, copies).")
print()
print("%-52s %6s %6s | %6s | %6s %6s %6s" % ("step of a request", "share", "us", "user", "switch", "wake", "work"))
for name, n in ([] if GENERIC else by_step.most_common()):
    k = [kernel_by_step[(name, a)] for a in ACTS]
    print("%-52s %s %s | %s | %s %s %s" % (name[:52], pct(n), us(n), us(n - sum(k)), us(k[0]), us(k[1]), us(k[2])))
k = [sum(v for (st, a), v in kernel_by_step.items() if a == act) for act in ACTS]
print("%-52s %s %s | %s | %s %s %s" % ("total", pct(total), us(total), us(total - sum(k)), us(k[0]), us(k[1]), us(k[2])))
print()
print("kernel time by system call:")
print("  %-40s %6s %6s | %6s %6s %6s" % ("", "share", "us", "switch", "wake", "work"))
calls = collections.Counter()
for (sc, act), v in by_syscall.items():
    calls[sc] += v
for sc, n in calls.most_common(12):
    print("  %-40s %s %s | %s %s %s" % (sc, pct(n), us(n), us(by_syscall[(sc, "switch")]),
                                      us(by_syscall[(sc, "wake")]), us(by_syscall[(sc, "work")])))
print()
print("hottest functions (self, leaf of the sample):")
for (name, where), n in leaf.most_common(25):
    print("  %-56s %-6s %s %s" % (name[:56], where, pct(n), us(n)))
if other_leaf and not GENERIC:
    print()
    print("'other' by its innermost user-space function:")
    for name, n in other_leaf.most_common(10):
        print("  %-56s %s %s" % (name[:56], pct(n), us(n)))

if JSON:
    # the same figures for report.py (docs/performance.md), in samples
    import json
    with open(JSON, "w") as f:
        json.dump({"samples": total, "us": US,
                   "steps": {name: dict(n=n, **{a: kernel_by_step[(name, a)] for a in ACTS})
                             for name, n in by_step.items()},
                   "syscalls": {sc: dict(n=n, **{a: by_syscall[(sc, a)] for a in ACTS})
                                for sc, n in calls.items()}}, f, indent=1)
