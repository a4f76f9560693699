"""Test harnesses: real servers the tests start themselves (PostgreSQL), and state stores."""
