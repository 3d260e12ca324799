"""The office web pages: sign-in by email link, action links from reminders, inbox, item, audit, outbox."""
