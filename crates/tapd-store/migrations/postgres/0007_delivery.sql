-- Delivering a pass (SPEC §12): a one-time link holds the pass sealed under a key that lives
-- only in the link, so the row alone can't be opened. One link per user at most, for the user's
-- current pass; replacing or deleting the pass deletes it, and opening it deletes it.
CREATE TABLE pass_links (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
    tap_id TEXT NOT NULL,
    sealed BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX pass_links_tap ON pass_links(tap_id);

-- Graph's `manager` relationship: at most one manager per user.
CREATE TABLE user_managers (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    manager_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE
);
CREATE INDEX user_managers_manager ON user_managers(manager_id);
