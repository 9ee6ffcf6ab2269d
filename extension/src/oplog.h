// Op ids make a push idempotent: the first push with a given (user, zone,
// op_id) is remembered with a fingerprint of the request and its result, in
// the same transaction as its effects; a repeat returns that result, and the
// same op id with a different request is CS422.
#pragma once
#include "crypto.h"
#include "push.h"

namespace credsync {

// SHA-256 over the request as the client sent it (given item ids, blobs,
// if_match values; not the ids the server generated). sync_push,
// sync_push_many and sync_delete of the same records fingerprint alike.
void request_fingerprint(const PushRequest &request, uint8_t out[kSha256Bytes]);

// The remembered result of a known op id (its row's request_sha256, items
// and gencounts), or CS422 if the request's fingerprint differs.
PushResult replay_op(const PushRequest &request, const uint8_t fingerprint[kSha256Bytes], bytea *stored,
                     ArrayType *items, ArrayType *gencounts);

}  // namespace credsync
