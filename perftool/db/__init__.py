"""Talking to PostgreSQL: connecting safely, the SQL files and their loader, sending outside
statement text as data, errors, and what the connected role may see."""
