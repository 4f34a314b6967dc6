-- A `password` an identity provider sent (Okta's password sync) was kept in the SCIM resource as
-- sent; Roster signs no one in with one and RFC 7643 says it is never returned, so it goes.
UPDATE users SET scim_resource = (scim_resource::jsonb - 'password')::text
WHERE scim_resource IS NOT NULL AND scim_resource::jsonb ? 'password';
