-- The first registry schema. Data columns are json (kept as sent); labels
-- are jsonb so a label filter is one containment test on a GIN index.

CREATE TABLE sessions (
    id         text COLLATE "C" PRIMARY KEY,
    worker_id  text NOT NULL DEFAULT '',
    engine     text NOT NULL DEFAULT '',
    mode       text NOT NULL DEFAULT '',
    state      text NOT NULL DEFAULT '',
    reason     text NOT NULL DEFAULT '',
    owner      text NOT NULL DEFAULT '',
    labels     jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    ended_at   timestamptz,
    data       json
);

-- Pages are read newest first by (created_at, id); the filtered columns
-- lead their own index in that order.
CREATE INDEX sessions_page   ON sessions (created_at DESC, id DESC);
CREATE INDEX sessions_state  ON sessions (state, created_at DESC, id DESC);
CREATE INDEX sessions_worker ON sessions (worker_id, created_at DESC, id DESC);
CREATE INDEX sessions_owner  ON sessions (owner, created_at DESC, id DESC);
CREATE INDEX sessions_labels ON sessions USING gin (labels jsonb_path_ops);

CREATE TABLE workers (
    id            text COLLATE "C" PRIMARY KEY,
    url           text NOT NULL DEFAULT '',
    version       text NOT NULL DEFAULT '',
    state         text NOT NULL DEFAULT '',
    engines       text[] NOT NULL DEFAULT '{}',
    capacity      integer NOT NULL DEFAULT 0,
    active        integer NOT NULL DEFAULT 0,
    last_seen     timestamptz NOT NULL,
    registered_at timestamptz NOT NULL,
    static        boolean NOT NULL DEFAULT false,
    data          json
);

-- IDs come from an identity sequence, taken under an advisory lock by the
-- store so that they also follow commit order (see AppendEvent).
CREATE TABLE events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time       timestamptz NOT NULL,
    type       text NOT NULL,
    session_id text NOT NULL DEFAULT '',
    worker_id  text NOT NULL DEFAULT '',
    data       json
);

-- Every committed event wakes the listeners of every replica.
CREATE FUNCTION camofleet_notify_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('camofleet_events', NEW.id::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION camofleet_notify_event();

CREATE TABLE audit (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time        timestamptz NOT NULL,
    actor       text NOT NULL DEFAULT '',
    role        text NOT NULL DEFAULT '',
    action      text NOT NULL,
    target      text NOT NULL DEFAULT '',
    detail      text NOT NULL DEFAULT '',
    remote_addr text NOT NULL DEFAULT ''
);

CREATE INDEX audit_actor  ON audit (actor, id);
CREATE INDEX audit_action ON audit (action, id);
CREATE INDEX audit_target ON audit (target, id);
CREATE INDEX audit_time   ON audit (time);

-- seq keeps first-in-first-out order even when enqueued_at ties.
CREATE TABLE queue (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          text NOT NULL UNIQUE,
    engine      text NOT NULL DEFAULT '',
    owner       text NOT NULL DEFAULT '',
    request     json,
    enqueued_at timestamptz NOT NULL
);
