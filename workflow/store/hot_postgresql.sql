-- The hot path of ``fire`` on PostgreSQL (psycopg, ``%(name)s`` parameters), run by workflow/store/hot.py.
-- Every statement here has its twin, with the same name and parameters, in hot_sqlite.sql
-- (tests/test_hot_sql.py holds them equal). JSON values arrive as text and are cast to json here;
-- the chain head is locked with FOR UPDATE until the commit.

-- name: item_by_id
SELECT id, reference, definition, definition_version, state, version, revision, title, category, body,
       fields, holders, acted, content_hash, created_by, created_at, updated_at, meta
  FROM items
 WHERE id = %(key)s

-- name: item_by_reference
SELECT id, reference, definition, definition_version, state, version, revision, title, category, body,
       fields, holders, acted, content_hash, created_by, created_at, updated_at, meta
  FROM items
 WHERE reference = %(key)s

-- name: user_roles
SELECT users.id, users.active, user_roles.role
  FROM users LEFT JOIN user_roles ON user_roles.user_id = users.id
 WHERE users.name = %(name)s

-- name: update_item
UPDATE items
   SET state = %(state)s, version = %(new_version)s, revision = %(revision)s, fields = %(fields)s::json,
       acted = %(acted)s::json, content_hash = %(content_hash)s, updated_at = %(updated_at)s
 WHERE id = %(id)s AND version = %(version)s

-- name: lock_head
SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE

-- name: insert_audit
INSERT INTO audit_log (seq, item_id, definition, definition_version, trigger, from_state, to_state, actor,
                       on_behalf_of, role, at, comment, fields, details, content_hash, prev_hash, person, hash)
VALUES (%(seq)s, %(item_id)s, %(definition)s, %(definition_version)s, %(trigger)s, %(from_state)s,
        %(to_state)s, %(actor)s, %(on_behalf_of)s, %(role)s, %(at)s, %(comment)s, %(fields)s, %(details)s,
        %(content_hash)s, %(prev_hash)s, %(person)s, %(hash)s)

-- name: update_head
UPDATE audit_head SET seq = %(seq)s, hash = %(hash)s WHERE id = 1

-- name: people_with_role
-- Who holds a role, then who stands in for them today: (name, email, digest, the principal's name or
-- NULL, display name). The core decides who acts (core.acting).
SELECT users.name, users.email, users.digest, NULL, users.display_name
  FROM users JOIN user_roles ON user_roles.user_id = users.id
 WHERE user_roles.role = %(role)s AND users.active = %(active)s
UNION ALL
SELECT substitute.name, substitute.email, substitute.digest, principal.name, substitute.display_name
  FROM delegations
  JOIN users AS principal ON principal.id = delegations.principal_id
  JOIN users AS substitute ON substitute.id = delegations.substitute_id
  JOIN user_roles ON user_roles.user_id = principal.id
 WHERE user_roles.role = %(role)s AND principal.active = %(active)s AND substitute.active = %(active)s
   AND delegations.starts_on <= %(today)s AND delegations.ends_on >= %(today)s
 ORDER BY 1

-- name: person_named
-- The person named for a role on an item, then who stands in for them today (as people_with_role).
SELECT name, email, digest, NULL, display_name FROM users WHERE name = %(name)s AND active = %(active)s
UNION ALL
SELECT substitute.name, substitute.email, substitute.digest, principal.name, substitute.display_name
  FROM delegations
  JOIN users AS principal ON principal.id = delegations.principal_id
  JOIN users AS substitute ON substitute.id = delegations.substitute_id
 WHERE principal.name = %(name)s AND principal.active = %(active)s AND substitute.active = %(active)s
   AND delegations.starts_on <= %(today)s AND delegations.ends_on >= %(today)s

-- name: people_names
-- Every person's login name, address and display name: how a page names people (core.names), read once
-- per request.
SELECT name, email, display_name FROM users

-- name: insert_outbox
INSERT INTO outbox (message_id, dedupe_key, event, item_id, recipient, subject, body_text, body_html, status,
                    attempts, next_attempt_at, created_at, context)
VALUES (%(message_id)s, %(dedupe_key)s, %(event)s, %(item_id)s, %(recipient)s, %(subject)s, %(body_text)s,
        %(body_html)s, %(status)s, %(attempts)s, %(next_attempt_at)s, %(created_at)s, %(context)s::json)
ON CONFLICT (dedupe_key) DO NOTHING

-- name: deadlines_of_item
SELECT kind, clock, status, applies_now, due_on FROM deadlines WHERE item_id = %(item_id)s

-- name: update_deadline
UPDATE deadlines
   SET clock = %(clock)s::json, status = %(status)s, applies_now = %(applies_now)s, due_on = %(due_on)s,
       due_at = %(due_at)s, met_on = %(met_on)s, paused_days = %(paused_days)s,
       extension_days = %(extension_days)s, calendar_version = %(calendar_version)s,
       computed_at = %(computed_at)s
 WHERE item_id = %(item_id)s AND kind = %(kind)s
