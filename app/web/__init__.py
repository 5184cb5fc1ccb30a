"""Server-rendered pages: sign-in, the task inbox, task forms, administration."""
