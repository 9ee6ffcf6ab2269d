#!/usr/bin/env python3
"""Where does a credsync call spend its time? Summarises a `perf record
--call-graph dwarf` of backends into buckets that name the SQL statement
(the `Statement` variable passed to spi_run, found from the call site's source
line) or the step (commit, NOTIFY, digest, protocol, ...).

usage: profile.py perf.data  ->  a text table on stdout
"""
import collections
import os
import re
import subprocess
import sys

from perf_script import stacks

data = sys.argv[1]
samples = stacks(data)

# Source lines of the credsync call sites (return address - 1).
sites = {}
by_dso = collections.defaultdict(set)
for s in samples:
    for addr, sym, dso in s:
        if dso.endswith("credsync.so"):
            by_dso[dso].add(addr)
for dso, addrs in by_dso.items():
    addrs = sorted(addrs)
    out = subprocess.run(["addr2line", "-a", "-i", "-e", dso] + ["%x" % max(a - 1, 0) for a in addrs],
                         capture_output=True, text=True).stdout
    cur = None
    for line in out.splitlines():
        if line.startswith("0x"):
            cur = int(line, 16) + 1
            sites[(dso, cur)] = []
        elif cur is not None:
            sites[(dso, cur)].append(line.split(" (")[0])
src_cache = {}


def source_line(loc):
    path, _, num = loc.rpartition(":")
    if not num.isdigit() or not os.path.exists(path):
        return ""
    if path not in src_cache:
        with open(path, errors="replace") as f:
            src_cache[path] = f.read().splitlines()
    lines = src_cache[path]
    n = int(num)
    return lines[n - 1] if 0 < n <= len(lines) else ""


def statement_of(dso, addr):
    for loc in sites.get((dso, addr), []):
        m = re.search(r"spi_run\(([^,]+),", source_line(loc))
        if m:
            arg = m.group(1).strip()
            if "?" in arg:  # spi_run(cond ? a : b, ...)
                arg = "/".join(x.strip() for x in arg.split("?", 1)[1].split(":"))
            return arg
    return None


def phase(stack_syms):
    if "GetCachedPlan" in stack_syms:
        return "plan cache / replan"
    if "standard_ExecutorStart" in stack_syms:
        return "ExecutorStart (plan init)"
    if "standard_ExecutorFinish" in stack_syms:
        return "ExecutorFinish (CTE/ModifyTable)"
    if "standard_ExecutorEnd" in stack_syms:
        return "ExecutorEnd"
    if "standard_ExecutorRun" in stack_syms:
        return "ExecutorRun"
    return "SPI overhead"


NOTABLE = ["ExecInsertIndexTuples", "ExecCheckIndexConstraints", "heap_insert", "heap_update",
           "heap_lock_tuple", "ExecOnConflictUpdate", "XLogInsert", "ExecAgg", "btgettuple",
           "ExecInitIndexScan", "ExecInitModifyTable", "CreateExecutorState", "AfterTriggerEndQuery"]
notable = collections.Counter()
sha_total = [0]
sha_overhead = [0]
buckets = collections.Counter()
others = collections.Counter()
phases = collections.Counter()
for s in samples:
    syms = [sym for _, sym, _ in s]
    label = None
    inner = None
    for i, (addr, sym, dso) in enumerate(s):
        if dso.endswith("credsync.so"):
            if inner is None:
                inner = sym
            st = statement_of(dso, addr)
            if st:
                label = "SQL %s" % st
                inside = set(syms[:i])
                phases[(label, phase(inside))] += 1
                for fn in NOTABLE:
                    if fn in inside:
                        notable[(label, fn)] += 1
                break
    if any("record_term" in x or "request_fingerprint" in x or x.startswith("credsync::sha256") for x in syms):
        sha_total[0] += 1
        leaf = syms[0] if syms else ""
        if any(k in leaf for k in ("OPENSSL_LH", "OBJ_", "EVP_MD_CTX", "CRYPTO_zalloc", "CRYPTO_free", "malloc",
                                   "free", "pthread", "ENGINE", "EVP_MD_fetch", "evp_md", "ossl_", "SHA256_Init",
                                   "EVP_DigestInit", "EVP_DigestFinal", "lh_")):
            sha_overhead[0] += 1
    if label is None and inner is not None:
        if any(x in syms for x in ("Async_Notify",)):
            label = "NOTIFY (Async_Notify in the call)"
        elif "pg_strong_random" in syms:
            label = "C++: new item uuids (pg_strong_random -> OpenSSL RAND_bytes)"
        elif any("sha256" in x or "record_term" in x or "EVP_" in x for x in syms):
            label = "C++: SHA-256 (digest terms, op fingerprint)"
        else:
            label = "C++: %s" % inner
    if label is None:
        if "CommitTransactionCommand" in syms or "CommitTransaction" in syms:
            if "PreCommit_Notify" in syms or "AtCommit_Notify" in syms or "SignalBackends" in syms \
                    or "asyncQueueAddEntries" in syms:
                label = "commit: NOTIFY queue"
            elif "XLogFlush" in syms or "issue_xlog_fsync" in syms:
                label = "commit: WAL flush"
            else:
                label = "commit: other"
        elif "fmgr_security_definer" in syms:
            label = "SECURITY DEFINER + SET search_path (GUC save/restore)"
        elif any(x in syms for x in ("exec_bind_message", "exec_parse_message", "exec_describe_portal_message")):
            label = "protocol: bind/describe of the outer SELECT"
        elif any(x in syms for x in ("secure_read", "secure_write", "pq_getbyte", "pq_flush", "internal_flush")):
            label = "client socket I/O"
        elif "ExecMakeTableFunctionResult" in syms or "PortalRun" in syms:
            label = "outer SELECT executor (tuplestore, SRF)"
        elif "StartTransactionCommand" in syms:
            label = "transaction start"
        else:
            label = "other backend work"
            # the frame just under PostgresMain says which protocol step it was
            names = [x for x in syms if x and not x.startswith("0x") and x != "[unknown]"]
            if "PostgresMain" in names:
                i = names.index("PostgresMain")
                others[names[i - 1] if i > 0 else names[0]] += 1
            else:
                others[names[0] if names else "?"] += 1
    buckets[label] += 1

total = sum(buckets.values()) or 1
print("perf samples of the backends: %d (cpu-clock, 499 Hz)" % total)
print()
print("%-60s %7s" % ("where", "share"))
for label, n in buckets.most_common():
    print("%-60s %6.1f%%" % (label, 100.0 * n / total))
print()
print("SQL statements by executor phase (share of all samples):")
for (label, ph), n in sorted(phases.items(), key=lambda kv: -kv[1]):
    if 100.0 * n / total >= 0.5:
        print("  %-40s %-34s %5.1f%%" % (label, ph, 100.0 * n / total))
print()
print("'other backend work' by the step under PostgresMain (share of all samples):")
for name, n in others.most_common(8):
    print("  %-58s %5.1f%%" % (name, 100.0 * n / total))
print()
print("inside the SQL statements: samples with this function on the stack (share of all samples):")
for (label, fn), n in sorted(notable.items(), key=lambda kv: -kv[1]):
    if 100.0 * n / total >= 1.0:
        print("  %-40s %-34s %5.1f%%" % (label, fn, 100.0 * n / total))
if sha_total[0]:
    print()
    print("SHA-256 (record_term, op fingerprint): %.1f%% of all samples; of those, %.0f%% have their leaf in"
          " OpenSSL's per-call set-up (EVP_MD_CTX new/free, provider lookup, locks, malloc),"
          " not in hashing (leaves in stripped libcrypto count as hashing)"
          % (100.0 * sha_total[0] / total, 100.0 * sha_overhead[0] / sha_total[0]))
