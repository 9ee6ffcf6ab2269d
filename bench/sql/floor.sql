-- bench baseline (a): "the floor".
--
-- The least work that still allocates a gencount under the zone's row lock and
-- upserts the record: one statement (bench/pgbench/push_floor.sql), no checks,
-- no digest, no quota, no op id, no NOTIFY. The tables and indexes are those of
-- credsync, so the storage cost per push is the same.
CREATE SCHEMA floor;

CREATE TABLE floor.zones (
    user_id  text   NOT NULL,
    zone     text   NOT NULL,
    gencount bigint NOT NULL DEFAULT 0,
    digest   bytea  NOT NULL DEFAULT decode(repeat('00', 32), 'hex'),
    items    bigint NOT NULL DEFAULT 0,
    bytes    bigint NOT NULL DEFAULT 0,
    horizon  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, zone)
);

CREATE TABLE floor.records (
    user_id    text        NOT NULL,
    zone       text        NOT NULL,
    item       uuid        NOT NULL,
    gencount   bigint      NOT NULL,
    deleted    boolean     NOT NULL,
    blob       bytea,
    written_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, zone, item),
    CHECK (deleted = (blob IS NULL))
);
CREATE UNIQUE INDEX ON floor.records (user_id, zone, gencount);
CREATE INDEX ON floor.records (written_at) WHERE deleted;
