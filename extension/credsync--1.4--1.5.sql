-- credsync 1.4 -> 1.5. docs/sql-api.md, "Additions in 1.5", says what each
-- change does and why.

\echo Use "ALTER EXTENSION credsync UPDATE TO '1.5'" to load this file. \quit
