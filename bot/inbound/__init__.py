"""The inbound journal: events are stored before they are acknowledged, then processed
in arrival order per member; what a crash interrupts is processed after the restart."""
