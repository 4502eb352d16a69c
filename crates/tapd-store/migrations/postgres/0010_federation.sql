-- A domain's federation with an OpenID Connect provider (Graph's internalDomainFederation):
-- at most one per domain. The client secret tapd presents to the provider is sealed with the
-- server's key, as the signing keys are.
CREATE TABLE federations (
    id TEXT PRIMARY KEY,
    domain_lower TEXT NOT NULL UNIQUE REFERENCES domains(name_lower),
    tenant_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    issuer_uri TEXT NOT NULL,
    passive_sign_in_uri TEXT,
    sign_out_uri TEXT,
    mfa_behavior TEXT NOT NULL,
    client_id TEXT NOT NULL,
    sealed_secret BYTEA,
    created_at BIGINT NOT NULL
);
