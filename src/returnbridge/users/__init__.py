"""The people who use the back-office: their passwords, roles and sign-in (shared by the web app and the CLI)."""
