-- Several tenants in one deployment (SPEC §8). The `tenant` row stays: it marks the default
-- tenant, the one made on first start. Every tenant is a row of `tenants`; its domains are
-- unique across the deployment, so a UPN finds its tenant, and exactly one is its default.
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO tenants (id, display_name, created_at)
    SELECT id, default_domain, created_at FROM tenant;

CREATE TABLE domains (
    name_lower TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    authentication_type TEXT NOT NULL CHECK (authentication_type IN ('Managed', 'Federated')),
    is_default BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX domains_tenant ON domains (tenant_id);
INSERT INTO domains (name_lower, name, tenant_id, authentication_type, is_default, created_at)
    SELECT lower(default_domain), default_domain, id, 'Managed', 1, created_at FROM tenant;

-- The objects a tenant owns directly; everything else hangs off a user, group or app.
ALTER TABLE users ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
UPDATE users SET tenant_id = (SELECT id FROM tenant);
CREATE INDEX users_tenant ON users (tenant_id, upn_lower);
ALTER TABLE groups ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
UPDATE groups SET tenant_id = (SELECT id FROM tenant);
CREATE INDEX groups_tenant ON groups (tenant_id);
ALTER TABLE apps ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
UPDATE apps SET tenant_id = (SELECT id FROM tenant);
CREATE INDEX apps_tenant ON apps (tenant_id);
ALTER TABLE directory_audits ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
UPDATE directory_audits SET tenant_id = (SELECT id FROM tenant);
CREATE INDEX directory_audits_tenant ON directory_audits (tenant_id, seq);
ALTER TABLE sign_ins ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
UPDATE sign_ins SET tenant_id = (SELECT id FROM tenant);
CREATE INDEX sign_ins_tenant ON sign_ins (tenant_id, seq);

-- The methods policy: one TAP row and one FIDO2 row per tenant.
CREATE TABLE tenant_policies (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
INSERT INTO tenant_policies (tenant_id, id, body, updated_at)
    SELECT (SELECT id FROM tenant), id, body, updated_at FROM policies;
DROP TABLE policies;
ALTER TABLE tenant_policies RENAME TO policies;

CREATE TABLE tenant_fido2_policy (
    tenant_id TEXT PRIMARY KEY,
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
INSERT INTO tenant_fido2_policy (tenant_id, state, self_service_registration,
    attestation_enforced, key_restrictions_enforced, key_enforcement_type, aaguids,
    include_targets, exclude_targets, updated_at)
    SELECT (SELECT id FROM tenant), state, self_service_registration, attestation_enforced,
        key_restrictions_enforced, key_enforcement_type, aaguids, include_targets,
        exclude_targets, updated_at FROM fido2_policy;
DROP TABLE fido2_policy;
ALTER TABLE tenant_fido2_policy RENAME TO fido2_policy;
