-- OpenID Connect provider: signing keys kept in the database (sealed), app registrations with
-- redirect URIs and several secrets, authorization codes, refresh-token families, web sessions.

-- Ed25519 keys, the private half sealed (AES-256-GCM) under a key derived from the server secret.
-- A key signs from activates_at until the next key activates; it stays published after that
-- until every token it signed has expired.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    sealed_pkcs8 BYTEA NOT NULL,
    public_key BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    activates_at BIGINT NOT NULL
);

ALTER TABLE apps ADD COLUMN web_redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE apps ADD COLUMN spa_redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE apps ADD COLUMN public_redirect_uris TEXT NOT NULL DEFAULT '[]';

-- Graph's passwordCredentials: an app may hold several secrets, each with its own end date.
CREATE TABLE app_secrets (
    key_id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    display_name TEXT,
    hint TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    start_at BIGINT NOT NULL,
    end_at BIGINT NOT NULL
);
CREATE INDEX app_secrets_app ON app_secrets(app_id);
-- The one secret of an app created before this migration: valid two years from its creation.
INSERT INTO app_secrets (key_id, app_id, display_name, hint, secret_hash, start_at, end_at)
    SELECT id, id, 'tapd app create', '', secret_hash, created_at, created_at + 63072000000000 FROM apps;
ALTER TABLE apps DROP COLUMN secret_hash;

-- An authorization code: used once (used_at), for at most 60 seconds.
CREATE TABLE auth_codes (
    code_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tap_id TEXT,
    amr TEXT NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    auth_time BIGINT NOT NULL,
    family_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

-- Refresh tokens now stay after use (used_at) so that a reuse is recognised and revokes the
-- whole family: every token rotated from the same sign-in.
ALTER TABLE refresh_tokens ADD COLUMN family_id TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN client_id TEXT;
ALTER TABLE refresh_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN auth_time BIGINT NOT NULL DEFAULT 0;
ALTER TABLE refresh_tokens ADD COLUMN used_at BIGINT;
UPDATE refresh_tokens SET family_id = token_hash, auth_time = created_at;
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
CREATE INDEX refresh_tokens_tap ON refresh_tokens(tap_id);

-- A browser session (cookie), known by its hash; capped at the pass that opened it.
CREATE TABLE web_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tap_id TEXT,
    amr TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions(user_id);
CREATE INDEX web_sessions_tap ON web_sessions(tap_id);
