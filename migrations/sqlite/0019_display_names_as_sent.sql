-- SCIM filters compare `displayName` as the User resource shows it, as the identity provider
-- sent it: a user it sent without one has none to compare (`displayName pr` is false of her),
-- though Roster still names her, from `name` or `userName`, in `users.name`.
UPDATE users SET name_folded = NULL
WHERE scim_resource IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM json_each(users.scim_resource) e
    WHERE lower(e.key) = 'displayname' AND e.type = 'text' AND trim(e.value) <> ''
);
