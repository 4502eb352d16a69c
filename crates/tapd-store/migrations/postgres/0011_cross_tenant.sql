-- Cross-tenant guests (SPEC §8): an external guest whose home is another tenant of this
-- deployment names that tenant and its user there, who signs in for it.
ALTER TABLE users ADD COLUMN home_tenant_id TEXT;
ALTER TABLE users ADD COLUMN home_user_id TEXT;
CREATE INDEX users_home ON users (home_user_id);

-- Graph's crossTenantAccessPolicy partners: which other tenants a tenant trusts, and for what.
CREATE TABLE cross_tenant_partners (
    tenant_id TEXT NOT NULL,
    partner_tenant_id TEXT NOT NULL,
    is_mfa_accepted BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, partner_tenant_id)
);
