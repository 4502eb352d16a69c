-- The device authorization grant (RFC 8628): a device code the device polls with and a user
-- code the person types on /device, both known only by their keyed hashes. A person approves
-- (user_id and their session's pass, methods and sign-in time are kept for the tokens) or
-- denies; the device code is redeemed once (redeemed_at). interval_secs grows with slow_down.
CREATE TABLE device_codes (
    device_code_hash TEXT PRIMARY KEY,
    user_code_hash TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    interval_secs BIGINT NOT NULL,
    last_poll_at BIGINT,
    approved_at BIGINT,
    denied_at BIGINT,
    redeemed_at BIGINT,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    tap_id TEXT,
    amr TEXT,
    auth_time BIGINT
);
CREATE INDEX device_codes_expiry ON device_codes(expires_at);
CREATE INDEX device_codes_user ON device_codes(user_id);
