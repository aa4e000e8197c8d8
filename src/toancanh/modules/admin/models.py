"""Administration keeps no tables of its own: it manages core's users, units, agencies and assets."""
