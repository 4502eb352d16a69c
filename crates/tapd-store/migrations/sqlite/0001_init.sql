-- tapd schema, SQLite dialect. Times are Unix microseconds (BIGINT), flags INTEGER 0/1, ids TEXT.
-- One row: `slot` is always 1, so replicas racing through their first start create it once.
CREATE TABLE tenant (
    slot BIGINT PRIMARY KEY,
    id TEXT NOT NULL,
    default_domain TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE policies (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    upn TEXT NOT NULL,
    upn_lower TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    given_name TEXT,
    surname TEXT,
    mail TEXT,
    account_enabled BIGINT NOT NULL,
    user_type TEXT NOT NULL,
    is_external BIGINT NOT NULL,
    creation_type TEXT,
    external_user_state TEXT,
    password_hash TEXT,
    password_set_at BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE groups (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    description TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members(user_id);

CREATE TABLE role_assignments (
    id TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role_template_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (principal_id, role_template_id)
);

CREATE TABLE taps (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    start_at BIGINT NOT NULL,
    lifetime_minutes BIGINT NOT NULL,
    is_usable_once BIGINT NOT NULL,
    used_at BIGINT,
    failed_attempts BIGINT NOT NULL,
    salt BLOB NOT NULL,
    code_hash BLOB NOT NULL
);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tap_id TEXT,
    amr TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);

CREATE TABLE apps (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    permissions TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE directory_audits (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    at BIGINT NOT NULL,
    body TEXT NOT NULL
);

CREATE TABLE sign_ins (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    at BIGINT NOT NULL,
    body TEXT NOT NULL
);
