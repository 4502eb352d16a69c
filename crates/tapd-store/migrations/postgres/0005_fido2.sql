-- The FIDO2 (passkey) configuration of the authentication methods policy: one row, the
-- defaults until one is stored. Targets and AAGUIDs are JSON arrays (as the TAP policy's).
-- Attestation enforcement can't be stored enabled: tapd can't verify attestation statements.
CREATE TABLE fido2_policy (
    id TEXT PRIMARY KEY CHECK (id = 'Fido2'),
    state TEXT NOT NULL CHECK (state IN ('enabled', 'disabled')),
    self_service_registration BIGINT NOT NULL,
    attestation_enforced BIGINT NOT NULL CHECK (attestation_enforced = 0),
    key_restrictions_enforced BIGINT NOT NULL,
    key_enforcement_type TEXT NOT NULL CHECK (key_enforcement_type IN ('allow', 'block')),
    aaguids TEXT NOT NULL,
    include_targets TEXT NOT NULL,
    exclude_targets TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
