"""Who people are and what they may do: logins, sessions, throttling, users and permissions."""
