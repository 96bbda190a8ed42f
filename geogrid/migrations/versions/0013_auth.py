"""Access control (issue 8): users, API keys and the append-only audit trail.

- ``users``: people who log in (``POST /auth/token``, the map pages' login page). ``role`` is
  one of ``admin``, ``street_operator`` (writes only the cases of ``streets``, 9-digit street
  codes), ``supervisor`` (posts tracks and cases as ``supervisor_id`` only) or ``viewer``.
  ``password_hash`` is an argon2id hash (never the password). ``token_version`` is part of
  every token issued to the user: a password reset or a role change bumps it, which voids
  every token and login cookie issued before. ``disabled`` users cannot log in, and their
  tokens stop working at once.
- ``api_keys``: keys of machine clients, with a role and the same optional scope. Only the
  key's SHA-256 is kept (a key is 256 random bits: a slow hash adds nothing) and its first
  characters (``prefix``) to recognise it in listings. A revoked key keeps its row.
- ``audit_log``: who (``actor``: a username, ``key:<name>`` or NULL for anonymous; ``role``),
  when, from where (``client`` address), what (``action``: read, write, login, logout, user,
  key; ``method``, ``path``, ``entity``, ``entity_id``, ``plan_id``, ``summary`` with the
  before/after figures a write reports) and how it ended (``outcome`` ok, failed or refused;
  the HTTP ``status``). Rows can be added, never changed or removed: triggers refuse UPDATE,
  DELETE and TRUNCATE (a superuser can still drop the triggers; the trail is for honest
  operators and for reconstructing events, not a tamper-proof ledger).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9_.@-]{1,64}$'),
    display_name text,
    role text NOT NULL CHECK (role IN ('admin', 'street_operator', 'supervisor', 'viewer')),
    streets text[] NOT NULL DEFAULT '{}',
    supervisor_id text,
    password_hash text NOT NULL,
    token_version integer NOT NULL DEFAULT 1,
    disabled boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'street_operator') = (cardinality(streets) > 0)),
    CHECK ((role = 'supervisor') = (supervisor_id IS NOT NULL))
);

CREATE TABLE api_keys (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9_.@-]{1,64}$'),
    prefix text NOT NULL,
    key_hash text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    role text NOT NULL CHECK (role IN ('admin', 'street_operator', 'supervisor', 'viewer')),
    streets text[] NOT NULL DEFAULT '{}',
    supervisor_id text,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    CHECK ((role = 'street_operator') = (cardinality(streets) > 0)),
    CHECK ((role = 'supervisor') = (supervisor_id IS NOT NULL))
);

CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor text,
    role text,
    client text,
    action text NOT NULL CHECK (action IN ('read', 'write', 'login', 'logout', 'user', 'key')),
    outcome text NOT NULL CHECK (outcome IN ('ok', 'failed', 'refused')),
    status integer,
    method text,
    path text,
    entity text,
    entity_id text,
    plan_id text,
    summary jsonb NOT NULL DEFAULT '{}',
    message text
);
CREATE INDEX audit_log_at ON audit_log (at DESC);
CREATE INDEX audit_log_actor ON audit_log (actor, at DESC);
CREATE INDEX audit_log_entity ON audit_log (entity, entity_id, at DESC);
CREATE INDEX audit_log_plan ON audit_log (plan_id) WHERE plan_id IS NOT NULL;

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute("DROP TABLE audit_log, api_keys, users")
    op.execute("DROP FUNCTION audit_log_append_only()")
