"""The Discord platform: discord.py slash commands, card buttons and grade reactions.

`translate` and `render` are pure; `port` does the I/O the core asks for; `app` is the
client and its command tree; `runner` wires them to the core; `invite` builds the link.
"""
