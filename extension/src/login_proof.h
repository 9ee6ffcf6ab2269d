// The proof that a caller knows an account's password (login_proof.cpp),
// checked by login() and account_delete(): a fresh challenge of the
// account's name, signed with the account's Ed25519 login key, under the
// per-name rate limit.
#pragma once
#include "pg.h"

namespace credsync {

constexpr int kChallengeBytes = 32;
constexpr int kSignatureBytes = 64;
constexpr int kChallengeSeconds = 60;      // a challenge is valid this long
constexpr int kMaxFailures = 5;            // failed proofs per name and window
constexpr int kFailureWindowSeconds = 600; // the window, from its first failure

enum class Proof { ok, failed, too_many_attempts };

struct ProofOutcome {
    Proof proof;
    int32 retry_after;  // too_many_attempts: seconds until the window passes (>= 1)
};

// 'ok', 'failed', 'too_many_attempts': the result column of login() and
// account_delete().
const char *proof_result(Proof proof);

// SPI must be connected; argument shapes are checked by the caller.
// Locks the name's failure counter (concurrent proofs of one name queue
// there) and, when the name is over the limit, answers too_many_attempts
// and changes nothing else. Otherwise it consumes the challenge (once, and
// only this name's, unexpired), locks the account's row and verifies the
// signature over "credsync login v1\n" || challenge || name (UTF-8). Any
// failure counts: the caller must COMMIT, not raise, to keep the count and
// the consumed challenge. Success clears the name's counter. An unknown name
// fails exactly as a wrong signature does, after the same work.
ProofOutcome check_login_proof(text *name, bytea *challenge, bytea *signature);

}  // namespace credsync
