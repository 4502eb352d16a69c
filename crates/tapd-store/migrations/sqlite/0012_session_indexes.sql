-- A session's user and pass in one index instead of two: every sign-in inserts a refresh token
-- or a browser session, and each index it lands in at a random place costs the commit a page.
-- A pass's sessions are found by its user and its id (`delete_tap`); a user's by the user.
DROP INDEX refresh_tokens_user;
DROP INDEX refresh_tokens_tap;
CREATE INDEX refresh_tokens_user_tap ON refresh_tokens (user_id, tap_id);
DROP INDEX web_sessions_user;
DROP INDEX web_sessions_tap;
CREATE INDEX web_sessions_user_tap ON web_sessions (user_id, tap_id);
