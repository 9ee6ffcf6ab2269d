// The installation secret of a new database (install_secret.cpp).
#pragma once
#include "pg.h"

namespace credsync {

// Replaces the secret with 32 bytes from pg_strong_random if this
// transaction inserted it (CREATE EXTENSION); true if it did. For
// credsync--1.2--1.3.sql only.
bool renew_new_install_secret();

}  // namespace credsync
