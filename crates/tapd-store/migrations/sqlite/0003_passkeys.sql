-- Passkeys (WebAuthn, SPEC §6.3). Credential parts are webauthn_rp's binary encodings.

-- Each user's WebAuthn user handle: 16 random bytes, fixed once drawn.
CREATE TABLE webauthn_user_handles (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    handle BLOB NOT NULL UNIQUE
);

CREATE TABLE passkeys (
    credential_id BLOB PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    user_handle BLOB NOT NULL,
    static_state BLOB NOT NULL,
    dynamic_state BLOB NOT NULL,
    transports BIGINT NOT NULL,
    aaguid TEXT NOT NULL,
    display_name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX passkeys_user ON passkeys(user_id);

-- A started registration or sign-in, keyed by its challenge; finishing deletes it (used once,
-- by whichever replica gets the answer).
CREATE TABLE webauthn_ceremonies (
    challenge BLOB PRIMARY KEY,
    kind TEXT NOT NULL,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    state BLOB NOT NULL,
    expires_at BIGINT NOT NULL
);
