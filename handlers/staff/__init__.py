"""The staff window's backend: accounts and access, the ticket lifecycle, deadlines,
notifications and statistics. The JSON API (bot/api/), the CLI (bot/cli/staff.py) and the
console to come all call these services; none of their logic lives in HTTP handlers."""
