"""Notices: what the platform tells people — SMS and e-mail through the notify adapter
(`handlers/notify/`), and in-app notices a user reads on their pages. Every message sent is a row
of `notifications`, which is also the outbox the platform reads (`/simulators/notify/`)."""
