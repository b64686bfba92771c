-- The first registry schema. Times are Unix microseconds (UTC); JSON
-- columns are TEXT checked with json_valid.

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    worker_id  TEXT NOT NULL DEFAULT '',
    engine     TEXT NOT NULL DEFAULT '',
    mode       TEXT NOT NULL DEFAULT '',
    state      TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL DEFAULT '',
    owner      TEXT NOT NULL DEFAULT '',
    labels     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(labels)),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    ended_at   INTEGER,
    data       TEXT CHECK (data IS NULL OR json_valid(data))
) STRICT;

-- Pages are read newest first by (created_at, id); the filtered columns
-- lead their own index in that order.
CREATE INDEX sessions_page   ON sessions (created_at DESC, id DESC);
CREATE INDEX sessions_state  ON sessions (state, created_at DESC, id DESC);
CREATE INDEX sessions_worker ON sessions (worker_id, created_at DESC, id DESC);
CREATE INDEX sessions_owner  ON sessions (owner, created_at DESC, id DESC);

CREATE TABLE workers (
    id            TEXT PRIMARY KEY,
    url           TEXT NOT NULL DEFAULT '',
    version       TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL DEFAULT '',
    engines       TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(engines)),
    capacity      INTEGER NOT NULL DEFAULT 0,
    active        INTEGER NOT NULL DEFAULT 0,
    last_seen     INTEGER NOT NULL,
    registered_at INTEGER NOT NULL,
    static        INTEGER NOT NULL DEFAULT 0,
    data          TEXT CHECK (data IS NULL OR json_valid(data))
) STRICT;

-- AUTOINCREMENT: an ID is never reused, even after pruning, so an SSE
-- client's Last-Event-ID stays meaningful.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    time       INTEGER NOT NULL,
    type       TEXT NOT NULL,
    session_id TEXT NOT NULL DEFAULT '',
    worker_id  TEXT NOT NULL DEFAULT '',
    data       TEXT CHECK (data IS NULL OR json_valid(data))
) STRICT;

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    time        INTEGER NOT NULL,
    actor       TEXT NOT NULL DEFAULT '',
    role        TEXT NOT NULL DEFAULT '',
    action      TEXT NOT NULL,
    target      TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '',
    remote_addr TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX audit_actor  ON audit (actor, id);
CREATE INDEX audit_action ON audit (action, id);
CREATE INDEX audit_target ON audit (target, id);
CREATE INDEX audit_time   ON audit (time);

-- seq keeps first-in-first-out order even when enqueued_at ties.
CREATE TABLE queue (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    engine      TEXT NOT NULL DEFAULT '',
    owner       TEXT NOT NULL DEFAULT '',
    request     TEXT CHECK (request IS NULL OR json_valid(request)),
    enqueued_at INTEGER NOT NULL
) STRICT;
