"""Tickets: the numbers citizens quote back to us (`number`), and later their storage/handling."""
