"""What an incoming message or a staff action does: routing, case library, tickets, staff console."""
