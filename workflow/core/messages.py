"""The text of every keyed message: errors, definition problems, refusals, audit faults.

A key (``refuse.role``) is a stable identifier: tests, JSON output and callers compare it.
Its text is English source marked for extraction; the reader's language comes from the
gettext catalogues (:mod:`workflow.core.i18n`), never from this table.
"""

from __future__ import annotations

from typing import Any

from workflow.core.i18n import N_, Nn_, translator

TEXT_BY_KEY: dict[str, str | tuple[str, str]] = {
    "error.generic": N_("Something went wrong"),
    "error.definition": Nn_("%(num)s problem in the definitions", "%(num)s problems in the definitions"),
    "error.not_allowed": N_("A rule refuses this"),
    "error.not_permitted": N_("Not permitted"),
    "error.conflict": N_("Someone else acted first"),
    "error.not_found": N_("Not found"),
    "error.invalid_input": N_("Invalid input"),
    "error.configuration": N_("Configuration error"),
    "error.calendar": N_("The working-day calendar has no data"),
    "error.audit": N_("The audit chain does not verify"),
    "definition.bad_yaml": N_("bad YAML: %(detail)s"),
    "definition.unreadable": N_("cannot read the file: %(detail)s"),
    "definition.duplicate_key": N_("key '%(key)s' appears twice"),
    "definition.not_mapping": N_("a definition must be a mapping (key: value)"),
    "definition.not_mapping_key": N_("'%(key)s' must be a mapping (key: value)"),
    "definition.not_list": N_("'%(key)s' must be a non-empty list"),
    "definition.not_bool": N_("'%(key)s' must be true or false"),
    "definition.unknown_key": N_("unknown key '%(key)s' (allowed: %(allowed)s)"),
    "definition.missing_key": N_("missing required key '%(key)s'"),
    "definition.bad_name": N_(
        "invalid name '%(value)s': use lower-case letters, digits and underscores, starting with a letter"
    ),
    "definition.bad_label": N_("label must have both zh and en, non-empty"),
    "definition.bad_prefix": N_("invalid reference prefix '%(value)s': 1 to 8 capital letters"),
    "definition.bad_field_type": N_("field '%(field)s' has an invalid type (allowed: %(allowed)s)"),
    "definition.bad_choices": N_(
        "field '%(field)s' is a choice: it needs its choices, each as value: {zh: ..., en: ...}"
    ),
    "definition.bad_choice_label": N_(
        "choice '%(value)s' of field '%(field)s' needs a label with both zh and en, non-empty"
    ),
    "definition.trigger_label_missing": N_(
        "trigger '%(trigger)s' has no label: declare it under triggers: as %(trigger)s: {label: {zh: ..., en: ...}}"
    ),
    "definition.choices_not_choice": N_("field '%(field)s' is not a choice: it cannot have choices"),
    "definition.unknown_state": N_("unknown state '%(state)s'"),
    "definition.unknown_role": N_("unknown role '%(role)s'"),
    "definition.unknown_trigger": N_("unknown trigger '%(trigger)s'"),
    "definition.unknown_guard": N_("unknown guard '%(guard)s' (allowed: %(allowed)s)"),
    "definition.bad_guard_shape": N_("a guard is a name, or a one-key mapping 'name: parameters'"),
    "definition.duplicate_trigger": N_(
        "trigger '%(trigger)s' is already declared from state '%(state)s' (line %(other)s)"
    ),
    "definition.unreachable": N_("state '%(state)s' cannot be reached from the initial state"),
    "definition.dead_end": N_("state '%(state)s' is not terminal but has no transition to another state"),
    "definition.terminal_has_exit": N_("terminal state '%(state)s' cannot have transitions out"),
    "definition.initial_terminal": N_("initial state '%(state)s' cannot be terminal"),
    "definition.bad_late_after": N_("late_after needs from_field (a date field) and working_days (a positive integer)"),
    "definition.fires_at_field": N_("fires_at '%(field)s' must be a declared datetime field"),
    "definition.fires_at_guards": N_("a timed transition (fires_at) is fired by the worker and cannot have guards"),
    "definition.fires_at_internal": N_("a timed transition (fires_at) needs a dest"),
    "definition.optional_field_unknown": N_("optional_fields: '%(field)s' is not a declared field"),
    "definition.optional_fields_timed": N_("a timed transition (fires_at) is fired by the worker and takes no fields"),
    "definition.late_after_field": N_("late_after's from_field '%(field)s' must be a declared date field"),
    "definition.duplicate_name": N_("definition name '%(name)s' is used by another file"),
    "guard.takes_no_params": N_("guard '%(guard)s' takes no parameters"),
    "guard.field_names": N_("guard '%(guard)s' needs a field name or a list of field names"),
    "guard.unknown_field": N_("guard '%(guard)s' names undeclared field '%(field)s'"),
    "guard.not_same_actor_as_shape": N_("guard '%(guard)s' needs lists of names under roles and/or triggers"),
    "guard.quorum_count": N_("guard '%(guard)s' needs count: an integer of at least 2"),
    "deadline.bad_length": N_("a deadline needs one of working_days or calendar_days (a positive integer)"),
    "deadline.bad_starts": N_("starts is {field: a date field} or {state: a state}; leave it out to start on creation"),
    "deadline.bad_extension": N_("extension needs trigger and working_days (a positive integer)"),
    "deadline.bad_before": N_("reminders.before must be a list of positive integers (working days before)"),
    "deadline.on_terminal": N_("terminal state '%(state)s' cannot have a deadline"),
    "catalog.no_categories": N_("the catalogue needs a non-empty list of categories"),
    "catalog.bad_entry": N_("a catalogue entry needs code (text) and name (zh and en)"),
    "catalog.bad_cycle": N_("update_every_days of category %(code)s must be a positive number of days"),
    "catalog.duplicate_code": N_("catalogue code '%(code)s' appears twice"),
    "office.not_mapping": N_("office.yaml must be a mapping with organ, index_number, site, villages and channels"),
    "office.bad_organ_name": N_("organ needs name: {zh: ..., en: ...} (the publishing organ, 发布机构)"),
    "office.bad_organ_code": N_('organ needs code: the organisation code as text, e.g. "01526086-8"'),
    "office.bad_pattern": N_("index_number is not a usable pattern: %(detail)s"),
    "office.unknown_placeholder": N_("index_number has unknown placeholder '%(name)s' (allowed: %(allowed)s)"),
    "office.serial_required": N_("index_number must contain {serial}, e.g. {serial:05d}"),
    "office.bad_site_title": N_("site needs title: {zh: ..., en: ...}"),
    "office.bad_base_url": N_("site needs base_url: an absolute http(s) address without query, got '%(url)s'"),
    "office.bad_villages": N_("villages must be a list of village names (text)"),
    "office.duplicate_village": N_("village '%(village)s' appears twice"),
    "office.bad_channels": N_("channels must map catalogue codes (or default) to lists of channels"),
    "office.bad_channel_list": N_("a channel list must be a list of channel names (allowed: %(allowed)s)"),
    "office.unknown_channel": N_("unknown channel '%(channel)s' (allowed: %(allowed)s)"),
    "office.unknown_category": N_(
        "channels names catalogue code '%(code)s', which is not in catalog.yaml (codes: %(allowed)s)"
    ),
    "refuse.unknown_trigger": N_("there is no trigger '%(trigger)s' (current state: %(state)s)"),
    "refuse.wrong_state": N_("'%(trigger)s' is not allowed from state '%(state)s'"),
    "refuse.role": N_("%(person)s does not hold the role '%(role)s' on this item, required for '%(trigger)s'"),
    "refuse.create_role": N_("%(person)s does not hold the role '%(role)s' needed to create a '%(definition)s' item"),
    "refuse.edit_role": N_("%(person)s may not edit in this state (role needed: %(roles)s)"),
    "refuse.not_editable": N_(
        "the body cannot be edited in state '%(state)s': what is reviewed is what is signed off (editable in: "
        "%(editable)s)"
    ),
    "refuse.comment_required": N_("'%(trigger)s' requires a comment (--comment)"),
    "refuse.field_required": N_("'%(trigger)s' requires the field '%(field)s' (--field %(field)s=...)"),
    "refuse.fields_missing": N_("required fields missing: %(fields)s"),
    "refuse.field_missing": N_("field '%(field)s' is required"),
    "input.field_frozen": N_(
        "field '%(field)s' cannot be changed after the item is created: a deadline or a late mark counts from it"
    ),
    "input.field_in_future": N_(
        "field '%(field)s' is %(value)s, after today (%(today)s): a deadline counts from it, so it cannot be a"
        " day that has not come yet"
    ),
    "input.doc_number_too_long": N_("the document number has %(length)s characters; at most %(maximum)s"),
    "input.doc_number_control": N_("the document number cannot contain control characters (tabs, line breaks)"),
    "input.subject_too_long": N_("the subject word '%(word)s' is too long: at most %(maximum)s characters"),
    "input.subject_control": N_("the subject word '%(word)s' contains a control character"),
    "input.too_many_subjects": N_("%(count)s subject words given; at most %(maximum)s"),
    "refuse.bad_choice": N_("field '%(field)s': '%(value)s' is not allowed (allowed: %(allowed)s)"),
    "refuse.bad_date": N_("field '%(field)s': '%(value)s' is not a date (YYYY-MM-DD)"),
    "refuse.bad_datetime": N_(
        "field '%(field)s': '%(value)s' is not a date-time (YYYY-MM-DDTHH:MM; without an offset, office time)"
    ),
    "refuse.not_yet": N_("'%(trigger)s' is scheduled for %(at)s; that time has not come"),
    "refuse.field_not_taken": N_(
        "'%(trigger)s' does not set the field '%(field)s': the worker acts at that moment, so only the decisions"
        " that declare it may set it"
    ),
    "refuse.unpublish_passed": N_(
        "field '%(field)s' (valid until) is %(value)s, which is not after now (%(now)s): give a later time"
    ),
    "refuse.unpublish_before_publication": N_(
        "field '%(field)s' (valid until) is %(value)s, which is not after the publication at %(publish_at)s"
    ),
    "refuse.not_timed": N_("'%(trigger)s' is not a timed transition; a person with the role must fire it"),
    "input.reserved_user_name": N_("the user name '%(name)s' is reserved for the system (the worker)"),
    "refuse.empty_field": N_("field '%(field)s' cannot be empty"),
    "refuse.separation_role": N_(
        "separation of duties: %(person)s is this item's '%(role)s' and may not fire '%(trigger)s'"
    ),
    "refuse.separation_trigger": N_(
        "separation of duties: %(person)s fired '%(other)s' and may not fire '%(trigger)s'"
    ),
    "refuse.already_voted": N_("%(trigger)s: each person signs once"),
    "refuse.once_only": N_("'%(trigger)s' can be done only once per item"),
    "refuse.assign_role": N_("%(person)s may not assign (role needed: %(roles)s)"),
    "refuse.assign_terminal": N_("the item has ended (%(state)s); nothing to assign"),
    "refuse.available": N_("you may fire now: %(triggers)s"),
    "refuse.available_none": N_("there is nothing you may fire now"),
    "refuse.last_action": N_("last action: %(actor)s fired '%(trigger)s' at %(at)s"),
    "conflict.database": N_("someone else acted at the same time; nothing was changed: %(detail)s"),
    "conflict.moved": N_("conflict: %(reference)s was changed by someone else first; nothing was changed"),
    "input.unknown_field": N_("'%(definition)s' has no field '%(field)s' (allowed: %(allowed)s)"),
    "input.empty_title": N_("the title cannot be empty"),
    "input.category_required": N_("a '%(definition)s' item needs a catalogue category (--category): %(allowed)s"),
    "input.unknown_category": N_("unknown catalogue category '%(category)s' (allowed: %(allowed)s)"),
    "input.bad_user_name": N_("invalid user name '%(name)s': no spaces, @ or :, at most 64 characters"),
    "input.bad_email": N_("invalid email address '%(email)s'"),
    "input.no_roles": N_("give at least one role (--role): %(allowed)s"),
    "input.unknown_role": N_("unknown role '%(role)s' (allowed: %(allowed)s)"),
    "input.user_exists": N_("user '%(name)s' already exists"),
    "input.email_taken": N_("%(email)s is already the address of %(owner)s: each person signs in by their own address"),
    "input.delegate_self": N_("%(name)s cannot delegate to themself"),
    "input.delegate_period": N_("invalid period: %(starts)s is after %(ends)s"),
    "input.assignee_lacks_role": N_("%(person)s does not hold the role '%(role)s'"),
    "input.already_assigned": N_("%(person)s already holds the role '%(role)s' on this item: nothing to change"),
    "input.bad_field_syntax": N_("a field is written KEY=VALUE: '%(value)s'"),
    "input.bad_date": N_("'%(value)s' is not a date (YYYY-MM-DD)"),
    "report.period_backwards": N_("the period ends (%(end)s) before it starts (%(start)s): give --from before --to"),
    "report.period_too_long": N_("the period %(start)s to %(end)s is longer than ten years"),
    "report.bad_format": N_("unknown format '%(value)s' (allowed: %(allowed)s)"),
    "report.xlsx_needs_out": N_("an XLSX file is not for the terminal: give --out FILE"),
    "input.unwritable_file": N_("cannot write %(path)s: %(detail)s"),
    "input.bad_range": N_("--to %(end)s is before --from %(start)s"),
    "input.unreadable_file": N_("cannot read %(path)s: %(detail)s"),
    "search.bad_id": N_("search document %(position)s has an empty id"),
    "search.duplicate_id": N_("search document '%(id)s' is given twice"),
    "search.bad_date": N_("search document '%(id)s': date '%(value)s' is not YYYY-MM-DD"),
    "search.bad_url": N_("search document '%(id)s': url '%(value)s' must be relative to the site root"),
    "search.not_empty": N_("a full search index is written into an empty folder: %(path)s is not empty"),
    "search.no_index": N_("no search index in %(path)s: build it in full first"),
    "notfound.item": N_("no item '%(item)s'"),
    "notfound.user": N_("no user '%(name)s'"),
    "notfound.definition": N_("no definition '%(name)s' (available: %(available)s)"),
    "notfound.definition_version": N_("the database has no version %(version)s of definition '%(name)s'"),
    "config.bad_lang": N_("GONGKAI_LANG must be zh or en, not '%(value)s'"),
    "config.no_audit_key": N_(
        "GONGKAI_AUDIT_KEY is not set: the audit chain needs a secret of at least 32 characters, kept outside "
        "the database"
    ),
    "config.security_log_too_short": N_(
        "GONGKAI_SECURITY_LOG_DAYS=%(days)s is too short: network logs are kept at least %(minimum)s days "
        "(Cybersecurity Law art. 21)"
    ),
    "config.not_positive": N_("%(name)s must be a positive whole number, not '%(value)s'"),
    "config.no_secret_key": N_(
        "GONGKAI_SECRET_KEY (or GONGKAI_SECRET_KEY_FILE) is not set: the web app signs links and sessions with "
        "it; at least 32 characters"
    ),
    "config.short_secret_key": N_(
        "GONGKAI_SECRET_KEY is too short: %(length)s characters, at least %(minimum)s needed"
    ),
    "config.short_audit_key": N_("GONGKAI_AUDIT_KEY is too short: %(length)s characters, at least %(minimum)s needed"),
    "config.unreadable_key_file": N_("cannot read GONGKAI_AUDIT_KEY_FILE %(path)s: %(detail)s"),
    "config.bad_database_url": N_("GONGKAI_DATABASE_URL is not a database URL: '%(url)s'"),
    "config.unsupported_database": N_("unsupported database '%(backend)s': use sqlite or postgresql"),
    "config.database_unusable": N_(
        "cannot use the database (%(detail)s): is the server running, and was 'gongkai init' run?"
    ),
    "config.not_initialised": N_("the database %(database)s does not exist: run 'gongkai init' first"),
    "config.no_database_folder": N_("the database folder does not exist: %(folder)s"),
    "calendar.no_data": N_(
        "the working-day calendar has no official data for %(year)s: update chinesecalendar or add the days to "
        "definitions/calendar.yaml"
    ),
    "calendar.bad_file": N_("calendar.yaml must be a mapping (key: value)"),
    "calendar.unknown_key": N_("unknown key '%(key)s' (allowed: days_off, working_days, covered_years)"),
    "calendar.not_list": N_("'%(key)s' must be a list"),
    "calendar.bad_entry": N_("each entry needs a date (YYYY-MM-DD) and may give a reason"),
    "calendar.duplicate_day": N_("the date %(date)s appears twice"),
    "calendar.bad_years": N_("covered_years must be a list of years"),
    "calendar.missing_warning": N_(
        "warning: no official holiday data for %(years)s: those years were counted with weekends only and the "
        "result may be wrong; update chinesecalendar or enter the days in definitions/calendar.yaml and "
        "declare them in covered_years"
    ),
    "worker.sqlite_second": N_(
        "another worker (%(owner)s) is using this SQLite database (its lease runs until %(until)s): SQLite "
        "supports one worker; run several on PostgreSQL"
    ),
    "worker.delivery_error": N_("delivery failed, the messages will be retried: %(error)s"),
    "audit.verified": Nn_("%(num)s entry verified", "%(num)s entries verified"),
    "audit.fault_changed": N_("audit entry #%(seq)s was changed: its content does not match its signature"),
    "audit.fault_missing": N_("audit entry #%(seq)s is missing"),
    "audit.fault_reordered": N_("audit entry #%(seq)s is out of order: it is not linked to the entry before it"),
    "audit.fault_head_mismatch": N_("the end of the audit chain (#%(seq)s) does not match the recorded head"),
    "audit.fault_anchor_mismatch": N_(
        "audit entry #%(seq)s does not match the anchor kept outside the database: the chain was rewritten"
    ),
    "audit.anchor_bad": N_("anchor file %(path)s is not valid: %(detail)s"),
    "audit.filter_unknown_item": N_("%(option)s: there is no item %(value)s"),
    "audit.filter_unknown_person": N_("%(option)s: nobody called %(value)s appears in the audit log"),
    "audit.filter_unknown_role": N_("%(option)s: unknown role %(value)s (roles: %(allowed)s)"),
    "audit.filter_unknown_value": N_(
        "%(option)s: %(value)s is neither declared in a definition nor found in the audit log"
    ),
    "audit.filter_bad_date": N_("%(option)s: %(value)s is not a date (YYYY-MM-DD)"),
    "audit.filter_dates_reversed": N_("%(option)s: %(until)s is before the start date %(since)s"),
    "audit.anchors_bad_line": N_("anchor file %(path)s, line %(line)s is not an anchor: %(detail)s"),
    "audit.anchors_empty": N_("anchor file %(path)s holds no anchor"),
    "audit.anchor_not_extended": N_(
        "anchor %(number)s of %(path)s (line %(line)s, %(day)s, entry #%(anchor_seq)s): %(fault)s"
    ),
    "audit.anchors_verified": Nn_(
        "%(num)s anchor still extended by the log", "%(num)s anchors still extended by the log"
    ),
    "audit.after_good": Nn_("(%(num)s entry before it verified)", "(%(num)s entries before it verified)"),
    "mail.unknown_event": N_("unknown email event '%(event)s' (allowed: %(allowed)s)"),
    "mail.item_required": N_("the email event '%(event)s' needs an item"),
    "mail.due_required": N_("the email event '%(event)s' needs a due date; item %(reference)s has none"),
    "mail.empty_digest": N_("a digest lists at least one item"),
    "config.bad_web_url": N_(
        "invalid web address '%(url)s': a full http:// or https:// URL is needed (GONGKAI_BASE_URL)"
    ),
    "config.bad_smtp_url": N_("invalid mail server URL %(url)s (GONGKAI_SMTP_URL)"),
    "config.bad_smtp_scheme": N_("the mail server URL %(url)s has an unsupported scheme (allowed: %(allowed)s)"),
    "config.smtp_password_in_clear": N_(
        "the mail server URL %(url)s would send the password unencrypted: use smtp+starttls:// or smtps://"
    ),
    "config.smtp_credentials_not_ascii": N_(
        "the user or password of the mail server URL %(url)s has non-ASCII characters, which SMTP login cannot send"
    ),
    "config.bad_mail_from": N_("invalid sender address '%(value)s' (GONGKAI_MAIL_FROM)"),
    "delivery.failed": N_("the email was not delivered: %(detail)s"),
    "delivery.temporary": N_("the email was not delivered this time, will retry: %(detail)s"),
    "delivery.permanent": N_("the email was refused for good: %(detail)s"),
    "outbox.bad_recipient": N_("invalid recipient address '%(recipient)s'"),
    "outbox.key_too_long": N_("the email's dedupe key is too long: %(key)s"),
    "outbox.bad_owner": N_("invalid lease owner '%(owner)s'"),
    "outbox.not_found": N_("no outbox message #%(id)s"),
    "outbox.not_failed": N_("message #%(id)s is %(status)s: only failed messages can be retried"),
    "outbox.requeued": N_("message #%(id)s is queued again and will be sent shortly"),
    "outbox.empty": N_("no messages"),
    "publication.retry_role": N_("%(person)s may not retry publication channels (it takes one of: %(roles)s)"),
    "publication.nothing_failed": N_("%(item)s has no failed channel job to retry (%(channel)s)"),
    "publication.unknown_channel": N_("unknown channel '%(channel)s' (channels: %(allowed)s)"),
    "publication.status.pending": N_("queued"),
    "publication.status.running": N_("in progress"),
    "publication.status.done": N_("done"),
    "publication.status.failed": N_("failed, not retried"),
    "publication.requeued": Nn_("%(num)s job queued again", "%(num)s jobs queued again"),
    "outbox.status.pending": N_("pending"),
    "outbox.status.sending": N_("sending"),
    "outbox.status.sent": N_("sent"),
    "outbox.status.failed": N_("failed"),
    "outbox.status.skipped": N_("skipped (obsolete)"),
    "error.busy": N_("Busy, please try again"),
    "refuse.assign_separation_role": N_(
        "separation of duties: %(person)s is this item's '%(other)s' and cannot be assigned as '%(role)s' "
        "(nobody could then fire '%(trigger)s')"
    ),
    "refuse.assign_separation_trigger": N_(
        "separation of duties: %(person)s fired '%(other)s' and cannot be assigned as '%(role)s' (nobody could "
        "then fire '%(trigger)s')"
    ),
    "refuse.people_admin": N_("%(person)s may not change the person %(subject)s (role needed: %(role)s)"),
    "refuse.self_grant": N_("%(person)s may not grant themself a role (%(roles)s): another administrator must"),
    "busy.database": N_(
        "busy (another change is being written to the database); nothing was changed, please try again: %(detail)s"
    ),
    "input.role_not_in_definition": N_("no one acts as '%(role)s' in '%(definition)s' (roles to assign: %(allowed)s)"),
    "input.roles_nothing_asked": N_("give a role with --add or --remove"),
    "input.roles_both": N_("a role cannot be both added and removed: %(roles)s"),
    "input.roles_unchanged": N_("nothing changes for %(name)s (roles now: %(roles)s)"),
    "input.no_roles_left": N_("%(name)s would have no role left; deactivate them instead (users deactivate)"),
    "input.already_active": N_("%(name)s is already active"),
    "input.already_inactive": N_("%(name)s is already deactivated"),
    "input.inactive_person": N_("%(name)s is deactivated and cannot stand in"),
    "refuse.self_admin": N_(
        "%(person)s may not deactivate themself or remove their own administrator role: another administrator must"
    ),
    "input.display_name_empty": N_("the display name cannot be empty"),
    "input.display_name_long": N_("the display name is %(length)s characters long; at most %(maximum)s"),
    "input.display_name_control": N_(
        "the display name holds a control character (%(code)s, character %(position)s): type the name again"
    ),
    "input.display_name_unchanged": N_("%(name)s is already shown as %(display_name)s"),
    "person.active": N_("active"),
    "person.inactive": N_("deactivated"),
    "person.digest_on": N_("daily digest"),
    "person.digest_off": N_("single emails"),
    "upload.empty": N_("%(name)s is empty: nothing to attach"),
    "upload.too_large": N_("%(name)s is too large: %(size)s, the limit is %(limit)s MB"),
    "upload.executable": N_(
        "%(name)s is a program (%(kind)s), not a document: programs are never attached, whatever their name"
    ),
    "upload.macros": N_("%(name)s contains macros (a program): save it without macros and attach it again"),
    "upload.type_not_allowed": N_("%(name)s: files of type '%(extension)s' are not accepted (allowed: %(allowed)s)"),
    "upload.mismatch": N_("%(name)s is not a real %(extension)s file: its content is %(found)s"),
    "upload.mismatch_unknown": N_("%(name)s is not a real %(extension)s file: its content is not that format"),
    "upload.bad_name": N_("the file name '%(name)s' is not usable: a file needs a name before its extension"),
    "upload.name_folder": N_("the file name '%(name)s' contains a folder (/ or \\): give the file's name only"),
    "upload.name_control": N_("the file name '%(name)s' contains control or invisible characters"),
    "upload.name_too_long": N_("the file name '%(name)s...' is too long (at most %(limit)s characters)"),
    "upload.duplicate": N_("%(name)s is already attached to this item (as %(other)s)"),
    "upload.meta_attachments": N_(
        "attachments are added with uploads (attach) and removed with detach, not written into the metadata"
    ),
    "upload.not_attached": N_("%(reference)s has no attachment %(sha256)s"),
    "upload.none": N_("choose at least one file to attach"),
    "upload.form": N_("the form with the files could not be read: %(detail)s"),
    "upload.missing_content": N_("the file %(sha256)s is missing from the file store"),
    "config.no_file_store": N_("no file store is configured (GONGKAI_FILES_DIR): attachments cannot be written"),
    "config.files_dir_not_folder": N_("GONGKAI_FILES_DIR %(path)s exists and is not a folder"),
    "config.site_dir_not_link": N_(
        "GONGKAI_SITE_DIR %(path)s exists and is not the symlink gongkai builds the site behind: move it away"
        " (gongkai site build --full then makes it)"
    ),
    "config.site_guide_missing": N_(
        "the disclosure guide's template %(path)s is missing: the site's 公开指南 is written from it"
    ),
    "config.unknown_file_type": N_(
        "GONGKAI_FILE_TYPES: '%(value)s' is not a file type gongkai can check (known: %(known)s)"
    ),
    "config.no_file_types": N_("GONGKAI_FILE_TYPES is empty: name at least one file type (e.g. pdf)"),
    "config.file_max_mb": N_(
        "GONGKAI_FILE_MAX_MB must be a whole number of megabytes from 1 to %(maximum)s, not '%(value)s'"
    ),
    "report.bad_figures": N_("the annual report's figures are not usable at %(path)s: %(detail)s"),
    "report.total_mismatch": N_(
        "the annual report's figures do not add up at %(path)s: %(stated)s stated, %(computed)s counted"
    ),
    "report.unbalanced": N_(
        "the annual report's check fails in column %(column)s of table III: I %(received)s + II %(carried_over)s"
        " is not III (total) %(handled)s + IV %(carried_forward)s; nothing was written"
    ),
    "report.template_missing": N_("the annual report's template %(path)s is missing: the office writes its text there"),
    "report.template_error": N_("the annual report's template: %(detail)s"),
    "report.template_block": N_(
        "the annual report's template has no block '%(block)s' ({%% block %(block)s %%}...{%% endblock %%})"
    ),
    "report.unknown_block": N_("the annual report's template has an unknown block '%(block)s' (allowed: %(allowed)s)"),
    "report.unfilled": N_(
        "the annual report still has %(count)s place(s) to fill in (%(places)s): fill them in in %(path)s first"
    ),
    "report.submit_needs_actor": N_("--submit needs --as USER: the drafter who submits the report"),
    "report.binary_to_terminal": N_("a %(format)s file is not printed to a terminal: give --out FILE"),
    "report.no_cjk_font": N_(
        "no Chinese (CJK) font found by fontconfig: install the Debian package fonts-noto-cjk, or the PDF would"
        " print empty boxes"
    ),
    "files.verified": Nn_("%(num)s stored file verified", "%(num)s stored files verified"),
    "files.mismatch": N_("%(sha256)s changed on disk: its content now hashes to %(actual)s (attached to %(items)s)"),
    "files.missing": N_("%(sha256)s is missing from the file store (attached to %(items)s)"),
}


def message(key: str, lang: str, /, **params: Any) -> str:
    """The text of ``key`` in ``lang`` with ``params`` filled in; the key itself if unknown.

    A plural message counts ``params["count"]``.
    """
    text = TEXT_BY_KEY.get(key)
    if text is None:
        return key
    tr = translator(lang)
    if isinstance(text, tuple):
        return tr.ngettext(*text, int(params.get("count", 0)), **params)
    return tr._(text, **params)
