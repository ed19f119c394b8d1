"""Python interpreters: finding them, probing them (cached) and the wheel tags they accept."""
