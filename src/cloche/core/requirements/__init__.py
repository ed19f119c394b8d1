"""Requirements as pip writes them: one line, a requirements file, pinned output."""
