-- Indexes for Graph's query options: users and groups by name (case-insensitive, as $filter and
-- $orderby compare), users by creation date, and the audit logs by time.
CREATE INDEX users_display_name ON users (lower(display_name), id);
CREATE INDEX users_created_at ON users (created_at);
CREATE INDEX groups_display_name ON groups (lower(display_name), id);
CREATE INDEX directory_audits_at ON directory_audits (at);
CREATE INDEX sign_ins_at ON sign_ins (at);
