// The installation secret (install_secret.cpp): renewing a new database's,
// and keyed hashes under it.
#pragma once
#include "pg.h"

#include "crypto.h"

namespace credsync {

// HMAC-SHA-256(installation secret, message) into `mac`. SPI must be
// connected (the secret is read once per backend, then kept).
void installation_hmac(const void *message, size_t len, uint8_t mac[kSha256Bytes]);

// Replaces the secret with 32 bytes from pg_strong_random if this
// transaction inserted it (CREATE EXTENSION); true if it did. For
// credsync--1.2--1.3.sql only.
bool renew_new_install_secret();

}  // namespace credsync
