"""The console platform: a terminal that plays a study channel and your DM."""
