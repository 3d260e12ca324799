-- The hot path of ``fire`` on SQLite (sqlite3, ``:name`` parameters), run by workflow/store/hot.py.
-- Every statement here has its twin, with the same name and parameters, in hot_postgresql.sql
-- (tests/test_hot_sql.py holds them equal). JSON columns are TEXT holding JSON; times are text in
-- the format SQLAlchemy's SQLite DateTime writes (hot.py converts). BEGIN IMMEDIATE locks the chain head.

-- name: item_by_id
SELECT id, reference, definition, definition_version, state, version, revision, title, category, body,
       fields, holders, acted, content_hash, created_by, created_at, updated_at, meta
  FROM items
 WHERE id = :key

-- name: item_by_reference
SELECT id, reference, definition, definition_version, state, version, revision, title, category, body,
       fields, holders, acted, content_hash, created_by, created_at, updated_at, meta
  FROM items
 WHERE reference = :key

-- name: user_roles
SELECT users.id, users.active, user_roles.role
  FROM users LEFT JOIN user_roles ON user_roles.user_id = users.id
 WHERE users.name = :name

-- name: update_item
UPDATE items
   SET state = :state, version = :new_version, revision = :revision, fields = :fields, acted = :acted,
       content_hash = :content_hash, updated_at = :updated_at
 WHERE id = :id AND version = :version

-- name: lock_head
SELECT seq, hash FROM audit_head WHERE id = 1

-- name: insert_audit
INSERT INTO audit_log (seq, item_id, definition, definition_version, trigger, from_state, to_state, actor,
                       on_behalf_of, role, at, comment, fields, details, content_hash, prev_hash, person, hash)
VALUES (:seq, :item_id, :definition, :definition_version, :trigger, :from_state, :to_state, :actor,
        :on_behalf_of, :role, :at, :comment, :fields, :details, :content_hash, :prev_hash, :person, :hash)

-- name: update_head
UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1

-- name: people_with_role
-- Who holds a role, then who stands in for them today: (name, email, digest, the principal's name or
-- NULL, display name). The core decides who acts (core.acting).
SELECT users.name, users.email, users.digest, NULL, users.display_name
  FROM users JOIN user_roles ON user_roles.user_id = users.id
 WHERE user_roles.role = :role AND users.active = :active
UNION ALL
SELECT substitute.name, substitute.email, substitute.digest, principal.name, substitute.display_name
  FROM delegations
  JOIN users AS principal ON principal.id = delegations.principal_id
  JOIN users AS substitute ON substitute.id = delegations.substitute_id
  JOIN user_roles ON user_roles.user_id = principal.id
 WHERE user_roles.role = :role AND principal.active = :active AND substitute.active = :active
   AND delegations.starts_on <= :today AND delegations.ends_on >= :today
 ORDER BY 1

-- name: person_named
-- The person named for a role on an item, then who stands in for them today (as people_with_role).
SELECT name, email, digest, NULL, display_name FROM users WHERE name = :name AND active = :active
UNION ALL
SELECT substitute.name, substitute.email, substitute.digest, principal.name, substitute.display_name
  FROM delegations
  JOIN users AS principal ON principal.id = delegations.principal_id
  JOIN users AS substitute ON substitute.id = delegations.substitute_id
 WHERE principal.name = :name AND principal.active = :active AND substitute.active = :active
   AND delegations.starts_on <= :today AND delegations.ends_on >= :today

-- name: people_names
-- Every person's login name, address and display name: how a page names people (core.names), read once
-- per request.
SELECT name, email, display_name FROM users

-- name: insert_outbox
INSERT INTO outbox (message_id, dedupe_key, event, item_id, recipient, subject, body_text, body_html, status,
                    attempts, next_attempt_at, created_at, context)
VALUES (:message_id, :dedupe_key, :event, :item_id, :recipient, :subject, :body_text, :body_html, :status,
        :attempts, :next_attempt_at, :created_at, :context)
ON CONFLICT (dedupe_key) DO NOTHING

-- name: deadlines_of_item
SELECT kind, clock, status, applies_now, due_on FROM deadlines WHERE item_id = :item_id

-- name: update_deadline
UPDATE deadlines
   SET clock = :clock, status = :status, applies_now = :applies_now, due_on = :due_on, due_at = :due_at,
       met_on = :met_on, paused_days = :paused_days, extension_days = :extension_days,
       calendar_version = :calendar_version, computed_at = :computed_at
 WHERE item_id = :item_id AND kind = :kind
