"""The portal's account pages: sign-up and sign-in, the team, API tokens, the audit log."""
