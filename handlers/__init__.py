"""What an incoming message or a staff action does: routing, cases, tickets, staff console."""
