"""Plain functions by verb. They take the acting user, raise typed errors and only flush."""
