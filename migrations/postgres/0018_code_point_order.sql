-- SCIM's filters compare strings lexicographically (RFC 7644 §3.4.2.2), and `sw` reads a prefix
-- as the index range [prefix, next prefix): both hold only in code point order, SQLite's BINARY.
-- Under a linguistic collation (en_US, ICU's en-US: ':' sorts before '9') the range for
-- `userName sw "user9"`, up to "user:", held no one. The columns SCIM filters compare take the
-- "C" collation, byte order of UTF-8, which is code point order; their indexes are rebuilt so.
-- Equality is unchanged: both collations are deterministic.
ALTER TABLE users
    ALTER COLUMN user_name_folded TYPE TEXT COLLATE "C",
    ALTER COLUMN name_folded TYPE TEXT COLLATE "C",
    ALTER COLUMN external_id TYPE TEXT COLLATE "C",
    ALTER COLUMN email TYPE TEXT COLLATE "C";
ALTER TABLE org_groups
    ALTER COLUMN name_folded TYPE TEXT COLLATE "C",
    ALTER COLUMN external_id TYPE TEXT COLLATE "C";
