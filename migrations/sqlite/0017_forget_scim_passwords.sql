-- A `password` an identity provider sent (Okta's password sync) was kept in the SCIM resource as
-- sent; Roster signs no one in with one and RFC 7643 says it is never returned, so it goes.
UPDATE users SET scim_resource = json_remove(scim_resource, '$.password')
WHERE json_type(scim_resource, '$.password') IS NOT NULL;
